//! Rate-limited logging of connections closed before they were served
//! (refused over the client limit, evicted while idle, reset or bad before
//! their first frame): a connect storm must not become a log storm. The
//! first such connection after a quiet interval is logged on its own line
//! with its peer and cause; the ones after it are counted by cause and
//! logged as one summary line per [`SUMMARY_INTERVAL`].

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Shortest time between two lines of one listener's connection log.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// One listener's log of early-closed connections.
#[derive(Debug)]
pub struct ConnLog {
    what: &'static str,
    state: Mutex<State>,
    /// Raised when a connection is counted for a later summary, so the
    /// listener arms its summary timer only then (no wake-ups while quiet).
    counted: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Connections counted since the last line, by cause.
    counts: BTreeMap<&'static str, u64>,
    /// When the last line was written.
    last_line: Option<Instant>,
}

impl ConnLog {
    /// A log for the listener named `what` (`stream tcp`, `metrics http`).
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            state: Mutex::new(State::default()),
            counted: Notify::new(),
        }
    }

    /// When the summary of what is counted is due; `None` with nothing
    /// counted.
    pub fn summary_due(&self) -> Option<Instant> {
        let s = self.state.lock().ok()?;
        if s.counts.is_empty() {
            return None;
        }
        Some(
            s.last_line
                .map_or_else(Instant::now, |t| t + SUMMARY_INTERVAL),
        )
    }

    /// Completes once a connection is counted for a later summary (at once
    /// if one was since the last call).
    pub async fn counted(&self) {
        self.counted.notified().await
    }

    /// Notes one connection of `peer` closed for `cause` (a short key such
    /// as `too_many_clients`), `detail` saying more.
    pub fn note(&self, cause: &'static str, peer: &str, detail: &dyn std::fmt::Display) {
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let quiet = s
            .last_line
            .is_none_or(|t| now.duration_since(t) >= SUMMARY_INTERVAL);
        if quiet && s.counts.is_empty() {
            s.last_line = Some(now);
            drop(s);
            tracing::warn!(listener = self.what, peer = %peer, cause, detail = %detail, "connection closed");
            return;
        }
        *s.counts.entry(cause).or_default() += 1;
        if quiet {
            Self::summary(self.what, &mut s, now);
        } else {
            drop(s);
            self.counted.notify_one();
        }
    }

    /// Writes the summary of what was counted, if anything was and the
    /// interval since the last line has passed (or `force`: the listener
    /// is closing).
    pub fn flush(&self, force: bool) {
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let due = force
            || s.last_line
                .is_none_or(|t| now.duration_since(t) >= SUMMARY_INTERVAL);
        if due && !s.counts.is_empty() {
            Self::summary(self.what, &mut s, now);
        }
    }

    fn summary(what: &'static str, s: &mut State, now: Instant) {
        let total: u64 = s.counts.values().sum();
        let causes = s
            .counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let since = s.last_line.map(|t| now.duration_since(t));
        tracing::warn!(listener = what, closed = total, causes = %causes, since = ?since, "connections closed (summary)");
        s.counts.clear();
        s.last_line = Some(now);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn counted(l: &ConnLog) -> u64 {
        l.state.lock().unwrap().counts.values().sum()
    }

    #[tokio::test(start_paused = true)]
    async fn a_storm_is_one_line_then_one_summary_per_interval() {
        let l = ConnLog::new("test");
        l.note("too_many_clients", "tcp:1", &"x");
        // Logged at once: nothing counted.
        assert_eq!(counted(&l), 0);
        for _ in 0..500 {
            l.note("too_many_clients", "tcp:1", &"x");
        }
        assert_eq!(counted(&l), 500);
        l.flush(false);
        assert_eq!(counted(&l), 500, "not yet due");
        let due = l.summary_due().expect("a summary is due with 500 counted");
        assert_eq!(due, Instant::now() + SUMMARY_INTERVAL);
        tokio::time::advance(SUMMARY_INTERVAL).await;
        l.flush(false);
        assert_eq!(l.summary_due(), None, "nothing left to summarise");
        assert_eq!(counted(&l), 0, "summarised");
        l.note("reset", "tcp:2", &"x");
        assert_eq!(counted(&l), 1, "within the interval of the summary");
        l.flush(true);
        assert_eq!(counted(&l), 0);
    }
}
