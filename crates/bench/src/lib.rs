//! Benchmarks of dronetel (not tests): decoder throughput (`benches/decode.rs`,
//! divan) and the whole daemon over real ptys, side by side with gpsd (the
//! `dronetel-bench` binary). `scripts/bench.sh` runs both.
//!
//! # Layout
//! - [`input`]: the shared gpsd captures as benchmark input, and the decoder
//!   driver the benches share.
//! - [`procfs`]: CPU time, context switches and peak RSS of a process from
//!   `/proc`.
//! - [`client`]: a stream client that notes when each GPS fix arrives.
//! - [`daemon`]: a release `dronetel` started on a generated configuration.
//! - [`gpsd`]: gpsd and a `gpspipe -w` watcher on a pty.
//! - [`foxglove`]: a Foxglove WebSocket client subscribed to everything.
//! - [`stats`]: percentiles and the result table.
//! - [`scenario`]: the measured runs (flood, nominal, fan-out, gpsd, the
//!   flight controller over serial and UDP).
//! - [`free_port`]: a loopback port for a server configured before it starts.
#![forbid(unsafe_code)]

pub mod client;
pub mod daemon;
pub mod foxglove;
pub mod gpsd;
pub mod input;
pub mod procfs;
pub mod scenario;
pub mod stats;

/// A free loopback port a moment ago, for a server the bench must tell its
/// port before starting it (gpsd, dronetel's `[gpsd]` and Foxglove
/// listeners): an ephemeral `:0` cannot be told to another process.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
