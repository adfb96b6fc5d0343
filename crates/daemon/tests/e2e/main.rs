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
