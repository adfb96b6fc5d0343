//! The supervisor's loop while the daemon runs: keeps systemd's `STATUS=`
//! line current, feeds the watchdog at half its timeout while the daemon is
//! healthy, and returns when the daemon's token is cancelled.

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::MissedTickBehavior;

use crate::supervisor::Daemon;

/// The configuration file to re-read and the SIGHUP stream that asks for it.
#[derive(Debug)]
pub struct ReloadSource {
    path: PathBuf,
    hup: Signal,
}

impl ReloadSource {
    /// Installs the SIGHUP handler now (from here on SIGHUP no longer ends
    /// the process) for reloads of `path`.
    pub fn new(path: PathBuf) -> std::io::Result<Self> {
        Ok(Self {
            path,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// SIGHUP, or never when there is nothing to reload from.
async fn hangup(r: &mut Option<ReloadSource>) {
    match r {
        Some(r) => {
            r.hup.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// One reload: RELOADING=1, validate, apply or refuse, READY=1.
async fn reload(d: &mut Daemon, path: &std::path::Path) {
    d.notifier.reloading();
    tracing::info!(path = %path.display(), "reload requested");
    match d.reload_from(path).await {
        Err(e) => {
            tracing::error!(error = %e, "reload refused: keeping the running configuration")
        }
        Ok(sum) => {
            for p in &sum.problems {
                tracing::warn!(problem = %p, "reload: not applied");
            }
            tracing::info!(
                started = ?sum.started, stopped = ?sum.stopped, restarted = ?sum.restarted,
                kept = ?sum.kept, stream_restarted = sum.stream_restarted,
                metrics_changed = sum.metrics_changed, sinks = ?sum.sinks_changed,
                "configuration reloaded"
            );
        }
    }
    d.notifier.ready(&d.status_line());
}

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
    let mut source = d.reload.take();
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = hangup(&mut source) => {
                if let Some(path) = source.as_ref().map(|s| s.path.clone()) {
                    reload(d, &path).await;
                    // The sensor set may have changed.
                    update_status(d, &mut last_status);
                }
            }
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
    match d
        .essential()
        .into_iter()
        .find(|t| !running.iter().any(|r| r == t))
    {
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
