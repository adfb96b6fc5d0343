//! The Prometheus endpoint: `GET /metrics` on the `[metrics] listen`
//! address, in the text exposition format (OpenMetrics flavour, by
//! `prometheus-client`).
//!
//! # Layout
//! - [`collector`]: the series, computed at scrape time from the status
//!   board (sensor health read off the bus) and the bus's counters.
//! - [`http`]: the small HTTP/1.1 server that answers scrapes.

pub mod collector;
pub mod http;

pub use collector::DaemonCollector;
pub use http::{MetricsError, MetricsServer};
