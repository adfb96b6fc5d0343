//! Sinks: where published frames leave the daemon. Each sink is one folder
//! holding its configuration section, its tasks and its counters; it
//! implements the [`Sink`] contract and has one line in [`registry::SINKS`],
//! the list that start-up, reload, the watchdog and the metrics endpoint go
//! through. Every sink reads the bus through its own receiver, so none can
//! block a sensor or another sink.
//!
//! # Layout
//! - [`contract`]: the [`Sink`] trait, [`SinkContext`], [`SinkHandle`].
//! - [`registry`]: the list of sinks, their configuration, the running set.
//! - [`frames`]: a sink's filtered, rate-limited, loss-counted receiver.
//! - [`rate`]: the decimator behind it (latest value wins).
//! - [`accept`]: the accept loop of the listening sinks;
//!   [`conn_log`]: its rate-limited log of refused and failed connections.
//! - [`payload`]: a frame's bytes without the length prefix.
//! - [`foxglove_schema`]: Foxglove's well-known messages made from frames
//!   (recording and the Foxglove sink).
//! - [`stats`]: per-sink counters and the roster metrics read.
//! - [`stream`]: TCP and Unix socket clients (`[stream]`).
//! - [`udp`]: datagrams to a ground station (`[udp]`).
//! - [`record`]: MCAP flight recording, recovery and replay (`[record]`).
//! - [`mqtt`]: frames to a fleet broker (`[mqtt]`).
//! - [`foxglove`]: the Foxglove WebSocket server (`[foxglove]`).
//! - [`metrics`]: the Prometheus endpoint (`[metrics]`).
//! - [`gpsd`]: gpsd's JSON protocol for gpsd clients (`[gpsd]`).
//! - [`chrony`]: GPS time to chronyd's `refclock SOCK` (`[chrony]`).

pub mod accept;
pub mod chrony;
pub mod conn_log;
pub mod contract;
pub mod foxglove;
pub mod foxglove_schema;
pub mod frames;
pub mod gpsd;
pub mod metrics;
pub mod mqtt;
pub mod payload;
pub mod rate;
pub mod record;
pub mod registry;
pub mod stats;
pub mod stream;
pub mod udp;

pub use contract::{Sink, SinkContext, SinkError, SinkHandle};
pub use registry::{RunningSinks, SinksConfig, SINKS};
pub use stats::SinkStats;
