//! The systemd notification protocol (`sd_notify`): READY=1 once serving,
//! STATUS= summaries, WATCHDOG=1 keep-alives, RELOADING=1 and STOPPING=1.
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// Talks to the service manager named by `NOTIFY_SOCKET`.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    enabled: bool,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the
    /// environment (the watchdog applies only if `WATCHDOG_PID` is unset or
    /// is this process).
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog: sd_notify::watchdog_enabled().filter(|d| !d.is_zero()),
        }
    }

    /// True when a service manager listens.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// How often to send WATCHDOG=1: half the manager's timeout, or `None`
    /// when no watchdog is configured.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    /// READY=1 with a first status line: every listener is bound and every
    /// sensor task started.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// STATUS=: the one-line summary `systemctl status` shows.
    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// WATCHDOG=1: the supervisor's loop is alive and healthy.
    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// RELOADING=1 with MONOTONIC_USEC (as `Type=notify-reload` expects).
    /// Follow with [`ready`](Notifier::ready) once the reload is done.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// STOPPING=1: shutdown has begun.
    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!(error = %e, "cannot notify the service manager");
        }
    }
}
