//! The UDP sink: one encoded `Frame` per datagram (no length prefix) to a
//! unicast or multicast target, never larger than `max_datagram`. A GPS frame
//! whose sky view does not fit is sent without it (counted); any other frame
//! over the limit is dropped (counted). Nothing is ever fragmented by us.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use dronetel_proto::v1::frame::Body;
use prost::Message;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::payload::frame_bytes;
use super::rate::RateControlled;
use super::stats::SinkStats;
use crate::bus::{Bus, Published, Received};
use crate::config::UdpConfig;
use crate::context::TaskContext;

/// Why the UDP sink could not start.
#[derive(Debug, thiserror::Error)]
#[error("udp sink {target}: {source}")]
pub struct UdpError {
    /// Configured target.
    pub target: SocketAddr,
    /// Cause.
    pub source: io::Error,
}

/// Binds the socket and starts the `udp` task. The task drains the bus
/// until it closes.
pub async fn spawn(
    ctx: &TaskContext,
    bus: &Bus,
    config: &UdpConfig,
    stop: &CancellationToken,
) -> Result<Arc<SinkStats>, UdpError> {
    let err = |source| UdpError {
        target: config.target,
        source,
    };
    let bind = config.bind.unwrap_or(match config.target {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    });
    let socket = UdpSocket::bind(bind).await.map_err(err)?;
    if config.target.ip().is_multicast() {
        match config.target {
            SocketAddr::V4(_) => socket
                .set_multicast_ttl_v4(config.multicast_ttl)
                .map_err(err)?,
            SocketAddr::V6(_) => {}
        }
    }
    let stats = Arc::new(SinkStats::default());
    let rx = RateControlled::new(
        bus.subscribe_as(super::start::consumer("udp"))
            .stop_on(stop.clone()),
        config.selection.clone(),
    );
    tracing::info!(target = %config.target, max_datagram = config.max_datagram, "udp sink started");
    let fut = run(
        socket,
        config.target,
        config.max_datagram,
        rx,
        stats.clone(),
    );
    ctx.spawn("udp sink", fut);
    Ok(stats)
}

async fn run(
    socket: UdpSocket,
    target: SocketAddr,
    max: usize,
    mut rx: RateControlled,
    stats: Arc<SinkStats>,
) {
    let mut failing = false;
    let mut lag = 0;
    while let Received::Frame(p) = rx.recv().await {
        if rx.dropped() > lag {
            SinkStats::add(&stats.dropped, rx.dropped() - lag);
            lag = rx.dropped();
        }
        let Some(datagram) = fit(&p, max, &stats) else {
            continue;
        };
        match socket.send_to(&datagram, target).await {
            Ok(_) => {
                SinkStats::add(&stats.sent, 1);
                if std::mem::replace(&mut failing, false) {
                    tracing::info!(target = %target, "udp sink sending again");
                }
            }
            Err(e) => {
                SinkStats::add(&stats.errors, 1);
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(target = %target, error = %e, "udp send failed; frames are lost until it works again");
                }
            }
        }
    }
    tracing::info!(
        target = %target,
        sent = SinkStats::get(&stats.sent),
        trimmed = SinkStats::get(&stats.trimmed),
        dropped = SinkStats::get(&stats.dropped),
        errors = SinkStats::get(&stats.errors),
        "udp sink stopped"
    );
}

/// The datagram for `p`, at most `max` bytes: as published, else a GPS
/// frame without its sky view, else nothing (counted as dropped).
pub fn fit(p: &Published, max: usize, stats: &SinkStats) -> Option<Bytes> {
    let whole = frame_bytes(p);
    if whole.len() <= max {
        return Some(whole);
    }
    if let Some(Body::Gps(fix)) = &p.frame.body {
        if !fix.sky.is_empty() {
            let mut frame = p.frame.as_ref().clone();
            if let Some(Body::Gps(fix)) = &mut frame.body {
                fix.sky.clear();
            }
            let trimmed = Bytes::from(frame.encode_to_vec());
            if trimmed.len() <= max {
                SinkStats::add(&stats.trimmed, 1);
                return Some(trimmed);
            }
        }
    }
    SinkStats::add(&stats.dropped, 1);
    tracing::debug!(
        seq = p.frame.seq,
        len = whole.len(),
        max,
        "frame over the datagram limit dropped"
    );
    None
}
