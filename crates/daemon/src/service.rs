//! The supervisor's loop while the daemon runs: keeps systemd's `STATUS=`
//! line current, feeds the watchdog at half its timeout while the daemon is
//! healthy, and returns when the daemon's token is cancelled.

use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::supervisor::Daemon;

/// Runs the loop until the daemon's token is cancelled.
pub(crate) async fn serve(d: &mut Daemon) {
    let token = d.ctx.token.clone();
    let mut board = d.board.watch();
    let mut consumers = d.bus.consumers().watch();
    let period = d.notifier.watchdog_period();
    let mut dog = tokio::time::interval(period.unwrap_or(Duration::from_secs(3600)));
    dog.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_status = d.status_line();
    let mut sick: Option<String> = None;
    if let Some(p) = period {
        tracing::info!(period = ?p, "systemd watchdog enabled");
    }
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = dog.tick(), if period.is_some() => {
                let health = check(d);
                match (&health, &sick) {
                    (Ok(()), Some(_)) => tracing::info!("daemon healthy again: watchdog fed"),
                    (Err(why), None) => tracing::error!(reason = %why, "daemon unhealthy: watchdog no longer fed"),
                    _ => {}
                }
                sick = health.err();
                if sick.is_none() {
                    d.notifier.watchdog();
                }
            }
            r = board.changed() => if r.is_ok() { update_status(d, &mut last_status) },
            r = consumers.changed() => if r.is_ok() { update_status(d, &mut last_status) },
        }
    }
}

/// Healthy: every essential task (listeners, status board) still runs.
fn check(d: &Daemon) -> Result<(), String> {
    let running = d.ctx.running();
    match d.essential.iter().find(|t| !running.contains(t)) {
        Some(t) => Err(format!("task {t:?} has stopped")),
        None => Ok(()),
    }
}

fn update_status(d: &Daemon, last: &mut String) {
    let now = d.status_line();
    if now != *last {
        d.notifier.status(&now);
        *last = now;
    }
}
