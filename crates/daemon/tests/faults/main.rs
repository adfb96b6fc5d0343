//! The fault suite: unplugged and replugged sensors, corrupted and noisy
//! lines, time faults, misbehaving clients and SIGTERM in a burst. Each
//! test measures the daemon's own process (fds, memory, counters), never
//! this one, so they share one binary; they run one at a time
//! ([`one_at_a_time`]): each drives the daemon at a multiple of the nominal
//! rate, and two at once on two cores starve each other's daemon and make
//! the counts they compare depend on the machine's load.

mod clients;
mod corruption;
mod noise;
mod replug;
mod shutdown;
mod time;

/// The binary under test, for the testkit helpers that start it.
const DRONETEL: &str = env!("CARGO_BIN_EXE_dronetel");

/// Held for the whole of a fault test, so the fault tests of this binary
/// never run at the same time.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE.lock().await
}
