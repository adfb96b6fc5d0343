//! Starts every configured sink on a bus: the one place start-up (and a
//! reload) goes through. Binding errors surface before any sensor starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::stats::SinkStats;
use super::stream::{StreamError, StreamSink};
use super::udp::{self, UdpError};
use crate::bus::Bus;
use crate::config::Config;
use crate::context::TaskContext;

/// Why a sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The stream listeners.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The UDP socket.
    #[error(transparent)]
    Udp(#[from] UdpError),
}

/// What the started sinks expose: listener addresses and counters.
#[derive(Debug, Default, Clone)]
pub struct Sinks {
    /// The bound TCP stream address (real port when 0 was configured).
    pub tcp_addr: Option<SocketAddr>,
    /// The Unix stream socket.
    pub unix_path: Option<PathBuf>,
    /// Counters of each optional sink, by name (`udp`, `record`, `mqtt`).
    pub stats: Vec<(&'static str, Arc<SinkStats>)>,
}

impl Sinks {
    /// The counters of the sink called `name`.
    pub fn stats(&self, name: &str) -> Option<&Arc<SinkStats>> {
        self.stats.iter().find(|(n, _)| *n == name).map(|(_, s)| s)
    }
}

/// Starts the stream sink and every optional sink of `config` on `ctx`,
/// each with its own receiver of `bus`.
pub async fn start_sinks(
    ctx: &TaskContext,
    bus: &Bus,
    config: &Config,
) -> Result<Sinks, SinkError> {
    let stream = StreamSink::bind(&config.stream).await?;
    let mut sinks = Sinks {
        tcp_addr: stream.tcp_addr(),
        unix_path: stream.unix_path().map(PathBuf::from),
        stats: Vec::new(),
    };
    let out = &config.outputs;
    if let Some(u) = &out.udp {
        sinks.stats.push(("udp", udp::spawn(ctx, bus, u).await?));
    }
    stream.spawn(ctx, bus);
    Ok(sinks)
}
