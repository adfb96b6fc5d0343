//! The UDP sink (`[udp]`): one encoded `Frame` per datagram (no length
//! prefix) to a unicast or multicast target, never larger than
//! `max_datagram`. A GPS frame whose sky view does not fit is sent without
//! it (counted); any other frame over the limit is dropped (counted).
//! Nothing is ever fragmented by us.
//!
//! # Layout
//! - [`config`]: the `[udp]` section.

pub mod config;

use std::net::SocketAddr;

use bytes::Bytes;
use dronetel_proto::v1::frame::Body;
use prost::Message;
use tokio::net::UdpSocket;

use crate::bus::{Published, Received};
use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sink::contract::{Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::frames::SinkFrames;
use crate::sink::payload::frame_bytes;
use crate::sink::stats::SinkStats;
pub use config::{RawUdp, UdpConfig};

/// The UDP sink.
#[derive(Debug)]
pub struct UdpSink;

impl Sink for UdpSink {
    const NAME: &'static str = "udp";
    type Raw = RawUdp;
    type Config = UdpConfig;

    fn validate(
        raw: RawUdp,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<UdpConfig, ConfigError> {
        UdpConfig::validate(raw, selection, c)
    }

    /// Binds the socket and starts the `udp sink` task, which drains the
    /// bus until it closes or the sink is stopped.
    async fn start(config: &UdpConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        let target = config.target;
        let key = if config.bind.is_some() {
            "bind"
        } else {
            "target"
        };
        let err = |e| SinkError::new::<Self>(key, format!("udp sink {target}: {e}"));
        let bind = config.bind.unwrap_or(match target {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        });
        let socket = UdpSocket::bind(bind).await.map_err(err)?;
        if let (true, SocketAddr::V4(_)) = (target.ip().is_multicast(), target) {
            socket
                .set_multicast_ttl_v4(config.multicast_ttl)
                .map_err(err)?;
        }
        let rx = cx.frames(&config.selection);
        tracing::info!(target = %target, max_datagram = config.max_datagram, "udp sink started");
        cx.spawn("udp sink", run(socket, target, config.max_datagram, rx));
        Ok(cx.into_handle(Vec::new()))
    }
}

async fn run(socket: UdpSocket, target: SocketAddr, max: usize, mut rx: SinkFrames) {
    let stats = rx.stats().clone();
    let mut failing = false;
    while let Received::Frame(p) = rx.recv().await {
        let Some(datagram) = fit(&p, max, &stats) else {
            continue;
        };
        match socket.send_to(&datagram, target).await {
            Ok(_) => {
                SinkStats::add(&stats.sent, 1);
                SinkStats::add(&stats.bytes, datagram.len() as u64);
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
    if let Some(Body::Gps(fix)) = &p.frame().body {
        if !fix.sky.is_empty() {
            let mut frame = p.frame().clone();
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
        seq = p.frame().seq,
        len = whole.len(),
        max,
        "frame over the datagram limit dropped"
    );
    None
}
