//! Counters of one sink, shared between its task and whoever reports them
//! (shutdown log, tests, metrics).

use std::sync::atomic::{AtomicU64, Ordering};

/// What one sink did since it started. All counters only grow.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Frames delivered (sent, written, handed to the broker client).
    pub sent: AtomicU64,
    /// Frames lost: bus lag, full queue, free-space floor, oversize.
    pub dropped: AtomicU64,
    /// GPS frames sent without their sky view to fit a datagram.
    pub trimmed: AtomicU64,
    /// Send or write errors.
    pub errors: AtomicU64,
}

impl SinkStats {
    /// Adds `n` to `c`.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads `c`.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}
