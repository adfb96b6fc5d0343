//! `[metrics]`: the optional Prometheus endpoint (its raw form and its
//! validated form).

use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

/// `[metrics]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub(crate) listen: Spanned<SocketAddr>,
}

/// `[metrics]`: where `GET /metrics` is served (Prometheus text format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Listen address; keep it on loopback (`127.0.0.1:9478`) unless a
    /// scraper elsewhere must reach it.
    pub listen: SocketAddr,
}

impl MetricsConfig {
    /// The conventional address: loopback, port 9478.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:9478";
}

impl RawMetrics {
    pub(crate) fn validate(&self) -> MetricsConfig {
        MetricsConfig {
            listen: *self.listen.get_ref(),
        }
    }
}
