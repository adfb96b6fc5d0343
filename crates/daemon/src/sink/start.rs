//! Starts every configured optional sink (`[udp]`, `[record]`, `[mqtt]`) on
//! a bus: the one place start-up and a reload go through. Errors (socket,
//! directory) surface before any sensor starts. The stream listeners are
//! started by the supervisor itself.

use std::sync::Arc;

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

/// The started optional sinks' counters, by name (`udp`, `record`, `mqtt`).
#[derive(Debug, Default, Clone)]
pub struct Outputs {
    /// Counters of each started sink.
    pub stats: Vec<(&'static str, Arc<SinkStats>)>,
}

impl Outputs {
    /// The counters of the sink called `name`.
    pub fn stats(&self, name: &str) -> Option<&Arc<SinkStats>> {
        self.stats.iter().find(|(n, _)| *n == name).map(|(_, s)| s)
    }
}

/// The registry name of a sink's own bus receiver.
pub(crate) fn consumer(sink: &str) -> ConsumerId {
    ConsumerId {
        sink: sink.to_owned(),
        peer: None,
    }
}

/// Starts every optional sink of `config` on `ctx`, each with its own
/// receiver of `bus`. Each task drains the bus until it closes.
pub async fn start_sinks(
    ctx: &TaskContext,
    bus: &Bus,
    config: &Config,
) -> Result<Outputs, SinkError> {
    let mut outputs = Outputs::default();
    let out = &config.outputs;
    if let Some(u) = &out.udp {
        outputs.stats.push(("udp", udp::spawn(ctx, bus, u).await?));
    }
    if let Some(r) = &out.record {
        let vehicle = &config.daemon.vehicle_id;
        outputs
            .stats
            .push(("record", record::spawn(ctx, bus, r, vehicle)?));
    }
    if let Some(m) = &out.mqtt {
        let vehicle = &config.daemon.vehicle_id;
        outputs
            .stats
            .push(("mqtt", mqtt::spawn(ctx, bus, m, vehicle)?));
    }
    Ok(outputs)
}
