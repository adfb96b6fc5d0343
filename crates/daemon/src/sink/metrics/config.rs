//! `[metrics]`: where `GET /metrics` is served.

use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

/// `[metrics]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    listen: Spanned<SocketAddr>,
}

/// `[metrics]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Listen address; keep it on loopback (`127.0.0.1:9478`) unless a
    /// scraper elsewhere must reach it.
    pub listen: SocketAddr,
}

impl MetricsConfig {
    /// The conventional address: loopback, port 9478.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:9478";

    /// Checks `[metrics]`.
    pub fn validate(raw: RawMetrics) -> Self {
        MetricsConfig {
            listen: *raw.listen.get_ref(),
        }
    }
}
