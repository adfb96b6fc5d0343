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

/// The optional sinks, by the name used in logs, metrics and reloads.
pub const SINKS: [&str; 3] = ["udp", "record", "mqtt"];

/// One started optional sink.
#[derive(Debug, Clone)]
pub struct StartedSink {
    /// `udp`, `record` or `mqtt`.
    pub name: &'static str,
    /// Its counters.
    pub stats: Arc<SinkStats>,
    /// Cancelling it ends the sink as a bus close would (what was published
    /// before is still handled: the recording is finished, the MQTT queue
    /// gets its moment to drain).
    pub stop: CancellationToken,
}

impl StartedSink {
    /// The names of the tasks that make up this sink, to wait for their end.
    pub fn tasks(&self) -> &'static [&'static str] {
        match self.name {
            "udp" => &["udp sink"],
            "record" => &["record"],
            _ => &["mqtt", "mqtt connection"],
        }
    }
}

/// The started optional sinks.
#[derive(Debug, Default, Clone)]
pub struct Outputs {
    /// Each started sink, in start order.
    pub sinks: Vec<StartedSink>,
}

impl Outputs {
    /// The counters of the sink called `name`.
    pub fn stats(&self, name: &str) -> Option<&Arc<SinkStats>> {
        self.sinks.iter().find(|s| s.name == name).map(|s| &s.stats)
    }

    /// Removes and returns the sink called `name`, if it runs.
    pub fn take(&mut self, name: &str) -> Option<StartedSink> {
        let i = self.sinks.iter().position(|s| s.name == name)?;
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

/// True when sink `name` would run the same in `a` and `b` (its section and
/// the vehicle id it names topics and files after).
pub fn same_sink(name: &str, a: &Config, b: &Config) -> bool {
    let vehicle = a.daemon.vehicle_id == b.daemon.vehicle_id;
    match name {
        "udp" => a.outputs.udp == b.outputs.udp,
        "record" => a.outputs.record == b.outputs.record && vehicle,
        _ => a.outputs.mqtt == b.outputs.mqtt && vehicle,
    }
}

/// Starts sink `name` of `config` on `ctx` with its own receiver of `bus`,
/// if the configuration has it.
pub async fn start_sink(
    ctx: &TaskContext,
    bus: &Bus,
    config: &Config,
    name: &'static str,
) -> Result<Option<StartedSink>, SinkError> {
    let out = &config.outputs;
    let vehicle = &config.daemon.vehicle_id;
    let stop = CancellationToken::new();
    let stats = match name {
        "udp" => match &out.udp {
            Some(u) => udp::spawn(ctx, bus, u, &stop).await?,
            None => return Ok(None),
        },
        "record" => match &out.record {
            Some(r) => record::spawn(ctx, bus, r, vehicle, &stop)?,
            None => return Ok(None),
        },
        _ => match &out.mqtt {
            Some(m) => mqtt::spawn(ctx, bus, m, vehicle, &stop)?,
            None => return Ok(None),
        },
    };
    Ok(Some(StartedSink { name, stats, stop }))
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
    for name in SINKS {
        if let Some(s) = start_sink(ctx, bus, config, name).await? {
            outputs.sinks.push(s);
        }
    }
    Ok(outputs)
}
