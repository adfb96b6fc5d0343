//! The daemon as a service: runs it until a signal, and meanwhile keeps
//! systemd's `STATUS=` line current, feeds the watchdog at half its timeout
//! while the daemon is healthy, and reloads on SIGHUP.

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::MissedTickBehavior;

use crate::config_file::Config;
use crate::supervisor::{Daemon, DaemonError, ShutdownReport};

impl Daemon {
    /// Waits until the token is cancelled (a signal, or anyone holding
    /// [`token`](Daemon::token)), keeping systemd informed (status changes,
    /// watchdog), then shuts down.
    pub async fn run_until_cancelled(mut self) -> ShutdownReport {
        serve(&mut self, None).await;
        self.shutdown().await
    }
}

/// Runs the daemon for `config`, read from `path`, until SIGINT/SIGTERM
/// (as [`run`]); SIGHUP re-reads `path` and applies it (see
/// [`reload`](crate::reload)).
pub async fn run_reloadable(config: Config, path: PathBuf) -> Result<ShutdownReport, DaemonError> {
    let mut daemon = Daemon::new(config);
    crate::signals::spawn_signal_handler(daemon.token()).map_err(DaemonError::Signals)?;
    // Installed before start: SIGHUP's default action would end the process.
    let reload = ReloadSource::new(path).map_err(DaemonError::Signals)?;
    daemon.start().await?;
    serve(&mut daemon, Some(reload)).await;
    Ok(daemon.shutdown().await)
}

/// Runs the daemon for `config` until SIGINT/SIGTERM (a second signal exits
/// at once), then shuts it down within `shutdown_grace`.
pub async fn run(config: Config) -> Result<ShutdownReport, DaemonError> {
    let mut daemon = Daemon::new(config);
    crate::signals::spawn_signal_handler(daemon.token()).map_err(DaemonError::Signals)?;
    daemon.start().await?;
    Ok(daemon.run_until_cancelled().await)
}

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
                kept = ?sum.kept, sinks = ?sum.sinks_changed,
                "configuration reloaded"
            );
        }
    }
    d.notifier.ready(&d.status_line());
}

/// Runs the loop until the daemon's token is cancelled.
async fn serve(d: &mut Daemon, mut source: Option<ReloadSource>) {
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
            _ = hangup(&mut source) => {
                if let Some(path) = source.as_ref().map(|s| s.path.clone()) {
                    reload(d, &path).await;
                    // The sensor set may have changed.
                    update_status(d, &mut last_status);
                }
            }
            _ = dog.tick(), if period.is_some() => {
                let health = d.health();
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

fn update_status(d: &Daemon, last: &mut String) {
    let now = d.status_line();
    if now != *last {
        d.notifier.status(&now);
        *last = now;
    }
}
