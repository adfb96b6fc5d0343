//! The Foxglove sink (`[foxglove]`): a Foxglove WebSocket server, so
//! Foxglove (the app, or any client of the protocol) shows a flight live.
//! Every client may subscribe to the same channels a recording holds: the
//! frame channels `<sensor>/<kind>` (`dronetel.v1.Frame`) and the
//! well-known ones (`foxglove.LocationFix`, `foxglove.Log`,
//! `foxglove.SceneUpdate`), each advertised when its topic first carries a
//! message, so a client that connects before the sensors sees them arrive.
//!
//! Implemented over `tokio-tungstenite` rather than with the `foxglove`
//! crate's server: that one negotiates only `foxglove.sdk.v1[.1]` (the
//! official `@foxglove/ws-protocol` client offers `foxglove.websocket.v1`),
//! has no client limit, keeps a slow client forever (it only loses its
//! oldest messages) and counts nothing where the daemon's metrics see it.
//! Here each client is a task on the daemon's runtime with its own bus
//! receiver: a slow client loses its oldest frames (counted in the sink's
//! `dropped`), is disconnected past `max_client_drops` or when a send
//! blocks past `write_timeout`, and never holds up a sensor.
//!
//! # Layout
//! - [`config`]: the `[foxglove]` section.
//! - [`protocol`]: subprotocols, JSON messages, the message-data frame.
//! - [`channels`]: the server's channels (ids, advertisements).
//! - [`client`]: one client's connection.

pub mod channels;
pub mod client;
pub mod config;
pub mod protocol;

use std::sync::Arc;
use std::time::SystemTime;

use tokio::net::TcpListener;

use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sink::accept::{accept_loop, Admission};
use crate::sink::contract::{Endpoint, Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::stats::Connected;
use crate::sink::stats::SinkStats;
use channels::Channels;
use client::{ClientEnd, Server};
pub use config::{FoxgloveConfig, RawFoxglove};

/// The Foxglove WebSocket sink.
#[derive(Debug)]
pub struct FoxgloveSink;

impl Sink for FoxgloveSink {
    const NAME: &'static str = "foxglove";
    type Raw = RawFoxglove;
    type Config = FoxgloveConfig;

    fn validate(
        raw: RawFoxglove,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<FoxgloveConfig, ConfigError> {
        FoxgloveConfig::validate(raw, selection, c)
    }

    /// Binds the listener and starts its accept loop; each admitted client
    /// is a task of its own.
    async fn start(config: &FoxgloveConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            SinkError::new::<Self>("listen", format!("foxglove {}: {e}", config.listen))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| SinkError::new::<Self>("listen", e))?;
        tracing::info!(addr = %addr, "foxglove websocket server listening");
        if !addr.ip().is_loopback() {
            tracing::warn!(addr = %addr, "foxglove server is reachable from the network: it is not encrypted or authenticated");
        }
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let server = Server {
            channels: Arc::new(Channels::default()),
            session_id: format!("{}-{started}", cx.vehicle_id()).into(),
            max_drops: config.max_client_drops,
            write_timeout: config.write_timeout,
            max_client_message: config.max_client_message,
            shutdown: cx.clients().shutdown(),
        };
        let admission = Admission::new(config.max_clients);
        let clients = cx.clients();
        let selection = config.selection.clone();
        let on_conn = move |tcp, peer: String, permit| {
            // Subscribed before the handshake: nothing published meanwhile
            // is lost.
            let frames = clients.frames(&peer, selection.clone());
            let connected = Connected::new(clients.stats().clone());
            let stats = clients.stats().clone();
            let server = server.clone();
            tracing::info!(peer = %peer, "foxglove client connected");
            clients.spawn(format!("foxglove client {peer}"), async move {
                let _permit = permit;
                let _connected = connected;
                let (end, sent, protocol) = client::serve(tcp, frames, server).await;
                let protocol = protocol.unwrap_or("none");
                match end {
                    ClientEnd::Drained => {
                        tracing::debug!(peer = %peer, protocol, sent, "foxglove client closed at shutdown")
                    }
                    ClientEnd::TooSlow => {
                        SinkStats::add(&stats.slow_disconnects, 1);
                        tracing::warn!(peer = %peer, protocol, sent, "foxglove client too slow: disconnected")
                    }
                    ClientEnd::WriteTimeout => {
                        SinkStats::add(&stats.slow_disconnects, 1);
                        tracing::warn!(peer = %peer, protocol, sent, "foxglove client stopped reading: disconnected")
                    }
                    ClientEnd::Handshake(e) => {
                        tracing::warn!(peer = %peer, error = %e, "foxglove client refused: handshake failed")
                    }
                    ClientEnd::Gone(e) => {
                        tracing::info!(peer = %peer, protocol, sent, reason = %e, "foxglove client disconnected")
                    }
                }
            });
        };
        cx.spawn(
            "foxglove listener",
            accept_loop(cx.token(), "foxglove", listener, admission, on_conn),
        );
        Ok(cx.into_handle(vec![Endpoint::Tcp(addr)]))
    }
}
