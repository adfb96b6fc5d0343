//! The metrics endpoint (`[metrics]`): `GET /metrics` on the `listen`
//! address, in the text exposition format (OpenMetrics flavour, by
//! `prometheus-client`). A sink that reads no frames: it reports on the
//! daemon (sensor health, bus, every sink's counters) at scrape time.
//!
//! # Layout
//! - [`config`]: the `[metrics]` section.
//! - [`collector`]: the series, computed at scrape time.
//! - [`http`]: the small HTTP/1.1 server that answers scrapes.

pub mod collector;
pub mod config;
pub mod http;

use tokio::net::TcpListener;

use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sink::contract::{Endpoint, Sink, SinkContext, SinkError, SinkHandle};
pub use collector::DaemonCollector;
pub use config::{MetricsConfig, RawMetrics};

/// The metrics endpoint.
#[derive(Debug)]
pub struct MetricsSink;

impl Sink for MetricsSink {
    const NAME: &'static str = "metrics";
    const SELECTS: bool = false;
    type Raw = RawMetrics;
    type Config = MetricsConfig;

    fn validate(
        raw: RawMetrics,
        _: Selection,
        _: &Checker<'_>,
    ) -> Result<MetricsConfig, ConfigError> {
        Ok(MetricsConfig::validate(raw))
    }

    /// Binds the listener (a taken port is a start-up error) and serves
    /// scrapes (task `metrics http`) until stopped.
    async fn start(config: &MetricsConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        let addr = config.listen;
        let err = |e| SinkError::new::<Self>("listen", format!("metrics listen {addr}: {e}"));
        let listener = TcpListener::bind(addr).await.map_err(err)?;
        let bound = listener.local_addr().map_err(err)?;
        tracing::info!(addr = %bound, "metrics listening");
        if !bound.ip().is_loopback() {
            tracing::warn!(addr = %bound, "metrics are reachable from the network");
        }
        let registry = DaemonCollector::new(cx.daemon().clone()).registry();
        cx.spawn(
            "metrics http",
            http::serve_scrapes(cx.token(), listener, registry, cx.clients()),
        );
        Ok(cx.into_handle(vec![Endpoint::Tcp(bound)]))
    }
}
