//! Shared support of dronetel's integration tests, one crate instead of
//! helper folders included into each test binary with `#[path]`.
//!
//! # Layout
//!
//! - [`harness`]: the real `dronetel` binary as a child process, reading
//!   firmware-sim's devices on real pseudo-terminals, with the simulator's
//!   truth collected for comparison.
//! - [`in_process`]: the daemon in the test's own process (its counters and
//!   sinks readable), reading a simulated GPS.
//! - [`spawn`]: the real binary with a chosen environment (as systemd runs
//!   it), signals to it and its exit.
//! - [`notify`]: a real `sd_notify` socket that records what the daemon says.
//! - [`sections`]: configuration text the tests assemble.
//! - [`client`]: stream clients that decode the delimited frame stream.
//! - [`frames`]: what tests look for in frames (health, fixes, gaps).
//! - [`metrics`]: scraping the daemon's Prometheus endpoint.
//! - [`process`]: what the daemon process holds (fds, memory).
//! - [`mcap_read`]: recordings read back the way a third-party tool does.
//! - [`mosquitto`]: a real MQTT broker and a subscriber to it.
//! - [`apt`]: installing a Debian package a test needs, once per process.
//! - [`debian`]: a program of another Debian release (gpsd 3.25 of
//!   Debian 13) unpacked into a private folder, run with its own libraries.
//! - [`python`]: Python packages (MAVProxy, pymavlink) in a private venv.
//! - [`ports`]: the one `free_port`, the port a daemon's listener on port 0
//!   got (from its log), connecting once a port listens, and whether a UDP
//!   port is bound.
//!
//! Helpers that start the binary take its path: only the daemon's own test
//! crates know it (`env!("CARGO_BIN_EXE_dronetel")`).
#![allow(clippy::unwrap_used)]

pub mod apt;
pub mod client;
pub mod debian;
pub mod frames;
pub mod harness;
pub mod in_process;
pub mod mcap_read;
pub mod metrics;
pub mod mosquitto;
pub mod notify;
pub mod ports;
pub mod process;
pub mod python;
pub mod sections;
pub mod spawn;

use std::time::{Duration, Instant};

/// Generous deadline for anything that crosses real I/O: long enough for a
/// loaded CI machine, short enough that a hang fails the test.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A temporary directory removed on drop, so a test leaves nothing behind.
pub type TempDir = tempfile::TempDir;

/// A fresh temporary directory tagged with the test's name, to tell apart
/// the directories of tests running in parallel.
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("dronetel-{tag}-"))
        .tempdir()
        .unwrap()
}

/// Polls `cond` every 20 ms until it holds; panics after [`DEADLINE`]. For
/// conditions with nothing to await (a file appearing, a counter moving).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < DEADLINE, "{what}: not within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
