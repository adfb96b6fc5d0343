//! End to end: firmware-sim's devices on real pseudo-terminals (and its
//! flight controller over UDP and TCP, as SITL), the sensor
//! tasks and the `dronetel` binary reading them (u-blox UBX included),
//! stream clients comparing
//! what they receive with the simulator's truth, and a clean stop on
//! SIGTERM.

mod daemon;
mod network;
mod sensor_net;
mod sensor_pty;
mod sensors;
mod shutdown_signal;
mod signing;
mod ublox;

/// The binary under test, for the testkit helpers that start it.
const DRONETEL: &str = env!("CARGO_BIN_EXE_dronetel");

/// Milliseconds since the Unix epoch of a fix time: the key of the
/// simulator's truth.
fn millis(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}
