//! Sinks: where published frames leave the daemon. Every sink reads the bus
//! through its own receiver, so none can block a sensor or another sink.
//!
//! # Layout
//! - [`stream`]: the TCP and Unix socket listeners and their accept loops.
//! - [`client`]: one stream client's batching writer.
//! - [`quiet_writer`]: the client socket, written without reactor wake-ups
//!   while it has room.
//! - [`subscribe`]: the optional `Subscribe` a stream client sends first.
//! - [`unix_socket`]: the Unix socket file's lifecycle (stale file, mode,
//!   removal).
//! - [`rate`]: per-consumer filter and rate limits (decimation).
//! - [`payload`]: a frame's bytes without the length prefix.
//! - [`stats`]: per-sink counters.
//! - [`udp`]: datagrams to a ground station.
//! - [`record`]: MCAP flight recording, recovery and replay.
//! - [`mqtt`]: frames to a fleet broker.
//! - [`start`]: starts every configured optional sink (start-up, reload).

pub mod client;
pub mod mqtt;
pub mod payload;
pub mod quiet_writer;
pub mod rate;
pub mod record;
pub mod start;
pub mod stats;
pub mod stream;
pub mod subscribe;
pub mod udp;
pub mod unix_socket;

pub use start::{start_sink, start_sinks, OptionalSink, Outputs, SinkError, StartedSink};
pub use stats::SinkStats;
pub use stream::{StreamError, StreamSink};
