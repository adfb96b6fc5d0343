//! The daemon as a systemd service: sd_notify and the watchdog, SIGHUP
//! reload (in the binary and through `Daemon::apply`), logging to the
//! journal, the Prometheus endpoint, and the shipped unit file.

mod hostile_clients;
mod journal_log;
mod metrics_http;
mod reload;
mod reload_apply;
mod sd_notify;
mod systemd_unit;

/// The binary under test, for the testkit helpers that start it.
const DRONETEL: &str = env!("CARGO_BIN_EXE_dronetel");
