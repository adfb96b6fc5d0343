//! Counters of one sink, shared between its tasks and whoever reports them
//! (shutdown log, tests, the metrics endpoint through the [`SinkRoster`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// What one sink did since it started. Counters only grow; `clients` is a
/// gauge.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Frames delivered (sent, written, handed to the broker client); a
    /// frame written to three clients counts three times.
    pub sent: AtomicU64,
    /// Bytes of those frames.
    pub bytes: AtomicU64,
    /// Frames lost: bus lag, full queue, free-space floor, oversize.
    pub dropped: AtomicU64,
    /// GPS frames sent without their sky view to fit a datagram.
    pub trimmed: AtomicU64,
    /// Send or write errors.
    pub errors: AtomicU64,
    /// Clients connected now (sinks that serve clients).
    pub clients: AtomicU64,
    /// Clients disconnected for being too slow (lagging or not reading).
    pub slow_disconnects: AtomicU64,
}

impl SinkStats {
    /// Adds `n` to `c`.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts `n` from the gauge `c`.
    pub fn sub(c: &AtomicU64, n: u64) {
        c.fetch_sub(n, Ordering::Relaxed);
    }

    /// Reads `c`.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Counts a connected client in its sink's `clients` gauge for as long as
/// it lives (also when its task is aborted).
#[derive(Debug)]
pub struct Connected(Arc<SinkStats>);

impl Connected {
    /// Counts one more client of `stats`' sink.
    pub fn new(stats: Arc<SinkStats>) -> Self {
        SinkStats::add(&stats.clients, 1);
        Self(stats)
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        SinkStats::sub(&self.0.clients, 1);
    }
}

/// The counters of every running sink, by name, for the metrics endpoint:
/// kept current by start-up and reload, read at each scrape.
#[derive(Debug, Clone, Default)]
pub struct SinkRoster {
    sinks: Arc<RwLock<Roster>>,
}

/// Each running sink's name and counters.
pub type Roster = Vec<(&'static str, Arc<SinkStats>)>;

impl SinkRoster {
    /// The running sinks and their counters, in registry order.
    pub fn snapshot(&self) -> Roster {
        self.sinks.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the list (after start-up or a reload).
    pub(crate) fn set(&self, sinks: Roster) {
        if let Ok(mut s) = self.sinks.write() {
            *s = sinks;
        }
    }
}
