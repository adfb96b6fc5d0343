//! Starts the configured optional sinks (`[udp]`, `[record]`, `[mqtt]`) on
//! a bus, each with a stop of its own: the one place start-up and a reload
//! go through. Errors (socket, directory) surface before any sensor starts.
//! The stream listeners are started by the supervisor itself.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::mqtt::{self, MqttError};
use super::record::{self, RecordError};
use super::stats::SinkStats;
use super::udp::{self, UdpError};
use crate::bus::Bus;
use crate::config::Config;
use crate::consumers::ConsumerId;
use crate::context::TaskContext;

/// Why a sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The UDP socket.
    #[error(transparent)]
    Udp(#[from] UdpError),
    /// The recording directory.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The MQTT sink's credentials.
    #[error(transparent)]
    Mqtt(#[from] MqttError),
}

/// One of the optional sinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionalSink {
    /// `[udp]`.
    Udp,
    /// `[record]`.
    Record,
    /// `[mqtt]`.
    Mqtt,
}

impl OptionalSink {
    /// Every optional sink, in start order.
    pub const ALL: [OptionalSink; 3] = [Self::Udp, Self::Record, Self::Mqtt];

    /// The name used in logs, metrics and reload summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Record => "record",
            Self::Mqtt => "mqtt",
        }
    }

    /// The names of the tasks that make up this sink, to wait for their end.
    pub fn tasks(self) -> &'static [&'static str] {
        match self {
            Self::Udp => &["udp sink"],
            Self::Record => &["record"],
            Self::Mqtt => &["mqtt", "mqtt connection"],
        }
    }

    /// True when this sink would run the same in `a` and `b` (its section
    /// and the vehicle id it names topics and files after).
    pub fn same_in(self, a: &Config, b: &Config) -> bool {
        let vehicle = a.daemon.vehicle_id == b.daemon.vehicle_id;
        match self {
            Self::Udp => a.outputs.udp == b.outputs.udp,
            Self::Record => a.outputs.record == b.outputs.record && vehicle,
            Self::Mqtt => a.outputs.mqtt == b.outputs.mqtt && vehicle,
        }
    }
}

/// One started optional sink.
#[derive(Debug, Clone)]
pub struct StartedSink {
    /// Which one.
    pub sink: OptionalSink,
    /// Its counters.
    pub stats: Arc<SinkStats>,
    /// Cancelling it ends the sink as a bus close would (what was published
    /// before is still handled: the recording is finished, the MQTT queue
    /// gets its moment to drain).
    pub stop: CancellationToken,
}

/// The started optional sinks.
#[derive(Debug, Default, Clone)]
pub struct Outputs {
    /// Each started sink, in start order.
    pub sinks: Vec<StartedSink>,
}

impl Outputs {
    /// The counters of the sink called `name` (`udp`, `record`, `mqtt`).
    pub fn stats(&self, name: &str) -> Option<&Arc<SinkStats>> {
        self.sinks
            .iter()
            .find(|s| s.sink.as_str() == name)
            .map(|s| &s.stats)
    }

    /// Removes and returns `sink`, if it runs.
    pub fn take(&mut self, sink: OptionalSink) -> Option<StartedSink> {
        let i = self.sinks.iter().position(|s| s.sink == sink)?;
        Some(self.sinks.remove(i))
    }
}

/// The registry name of a sink's own bus receiver.
pub(crate) fn consumer(sink: &str) -> ConsumerId {
    ConsumerId {
        sink: sink.to_owned(),
        peer: None,
    }
}

/// Starts `sink` of `config` on `ctx` with its own receiver of `bus`, if
/// the configuration has it.
pub async fn start_sink(
    ctx: &TaskContext,
    bus: &Bus,
    config: &Config,
    sink: OptionalSink,
) -> Result<Option<StartedSink>, SinkError> {
    let out = &config.outputs;
    let vehicle = &config.daemon.vehicle_id;
    let stop = CancellationToken::new();
    let stats = match sink {
        OptionalSink::Udp => match &out.udp {
            Some(u) => udp::spawn(ctx, bus, u, &stop).await?,
            None => return Ok(None),
        },
        OptionalSink::Record => match &out.record {
            Some(r) => record::spawn(ctx, bus, r, vehicle, &stop)?,
            None => return Ok(None),
        },
        OptionalSink::Mqtt => match &out.mqtt {
            Some(m) => mqtt::spawn(ctx, bus, m, vehicle, &stop)?,
            None => return Ok(None),
        },
    };
    Ok(Some(StartedSink { sink, stats, stop }))
}

/// Starts every optional sink of `config` on `ctx`, each with its own
/// receiver of `bus`. Each task drains the bus until it closes or its own
/// stop is cancelled.
pub async fn start_sinks(
    ctx: &TaskContext,
    bus: &Bus,
    config: &Config,
) -> Result<Outputs, SinkError> {
    let mut outputs = Outputs::default();
    for sink in OptionalSink::ALL {
        if let Some(s) = start_sink(ctx, bus, config, sink).await? {
            outputs.sinks.push(s);
        }
    }
    Ok(outputs)
}
