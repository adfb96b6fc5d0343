//! The fault suite: unplugged and replugged sensors, corrupted and noisy
//! lines, time faults, misbehaving clients and SIGTERM in a burst. Each
//! test measures the daemon's own process (fds, memory, counters), never
//! this one, so they share one binary.

mod clients;
mod corruption;
mod noise;
mod replug;
mod shutdown;
mod time;

/// The binary under test, for the testkit helpers that start it.
const DRONETEL: &str = env!("CARGO_BIN_EXE_dronetel");
