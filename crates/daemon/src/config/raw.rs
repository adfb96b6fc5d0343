//! The serde mirror of the TOML file. Unknown keys are rejected; values that
//! need semantic checks keep their span so errors can point at them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::types::SensorKind;

/// A duration written as a humantime string (`"2s"`, `"500ms"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HumanDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        humantime_serde::deserialize(d).map(HumanDuration)
    }
}

/// Wire protocol names accepted in `[[sensor]] protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawProtocol {
    Nmea,
    Mavlink,
    Tracker,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) daemon: RawDaemon,
    #[serde(default)]
    pub(crate) sensor: Vec<Spanned<RawSensor>>,
    pub(crate) stream: Option<RawStream>,
    pub(crate) udp: Option<super::outputs::RawUdp>,
    pub(crate) record: Option<super::outputs::RawRecord>,
    pub(crate) mqtt: Option<super::outputs::RawMqtt>,
    pub(crate) metrics: Option<super::metrics::RawMetrics>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDaemon {
    pub(crate) vehicle_id: Spanned<String>,
    pub(crate) shutdown_grace: Option<Spanned<HumanDuration>>,
    pub(crate) health_interval: Option<Spanned<HumanDuration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSensor {
    pub(crate) name: Spanned<String>,
    pub(crate) kind: Spanned<SensorKind>,
    pub(crate) protocol: Spanned<RawProtocol>,
    pub(crate) path: Spanned<PathBuf>,
    pub(crate) baud: Spanned<u32>,
    pub(crate) stale_after: Option<Spanned<HumanDuration>>,
    pub(crate) require_checksum: Option<Spanned<bool>>,
    pub(crate) idle_gap: Option<Spanned<HumanDuration>>,
    pub(crate) request_message_rates: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStream {
    pub(crate) tcp: Option<Spanned<SocketAddr>>,
    pub(crate) unix: Option<Spanned<PathBuf>>,
    pub(crate) max_clients: Option<Spanned<usize>>,
    pub(crate) client_queue: Option<Spanned<usize>>,
    pub(crate) max_client_drops: Option<u64>,
    pub(crate) write_timeout: Option<Spanned<HumanDuration>>,
}
