//! The stream sink (`[stream]`): TCP and Unix socket listeners whose clients
//! each get every frame of the bus, varint-delimited. One semaphore caps
//! the clients of both listeners together; over the cap a connection is
//! closed at once. A client may first send a `Subscribe` to choose frames.
//!
//! # Layout
//! - [`config`]: the `[stream]` section.
//! - [`client`]: one client's batching writer.
//! - [`quiet_writer`]: the client socket, written without reactor wake-ups
//!   while it has room.
//! - [`subscribe`]: the optional `Subscribe` a client sends first.
//! - [`unix_socket`]: the Unix socket file's lifecycle (stale file, mode,
//!   removal).

pub mod client;
pub mod config;
pub mod quiet_writer;
pub mod subscribe;
pub mod unix_socket;

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sink::accept::{accept_loop_logged, Admission, Listener};
use crate::sink::conn_log::ConnLog;
use crate::sink::contract::{ClientSide, Endpoint, Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::stats::{Connected, SinkStats};
use client::{serve_client, ClientEnd, ClientLimits};
pub use config::{RawStream, StreamConfig};
use quiet_writer::{QuietWriter, Socket};
use subscribe::{read_subscribe, SUBSCRIBE_WAIT};
use unix_socket::SocketFile;

/// The stream sink.
#[derive(Debug)]
pub struct StreamSink;

impl Sink for StreamSink {
    const NAME: &'static str = "stream";
    const SELECTS: bool = false;
    type Raw = RawStream;
    type Config = StreamConfig;

    /// Without `[stream]`: TCP on `127.0.0.1:4780`.
    fn absent() -> Option<StreamConfig> {
        Some(StreamConfig::default())
    }

    fn validate(
        raw: RawStream,
        _: Selection,
        c: &Checker<'_>,
    ) -> Result<StreamConfig, ConfigError> {
        StreamConfig::validate(raw, c)
    }

    fn bus_queue(config: &StreamConfig) -> Option<usize> {
        Some(config.client_queue)
    }

    fn with_bus_queue(config: &StreamConfig, queue: usize) -> StreamConfig {
        StreamConfig {
            client_queue: queue,
            ..config.clone()
        }
    }

    async fn start(config: &StreamConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        // Both bound before either serves: errors surface before any
        // sensor starts.
        let tcp =
            match config.tcp {
                Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                    SinkError::new::<Self>("tcp", format!("stream tcp {addr}: {e}"))
                })?),
                None => None,
            };
        let unix = match &config.unix {
            Some(path) => Some(unix_socket::bind(path).map_err(|e| {
                SinkError::new::<Self>("unix", format!("stream unix {}: {e}", path.display()))
            })?),
            None => None,
        };
        let admission = Admission::new(config.max_clients);
        let limits = ClientLimits {
            max_drops: config.max_client_drops,
            write_timeout: config.write_timeout,
        };
        // One log for both listeners: refusals, and clients that fail
        // before their first frame (reset, bad or slow subscribe).
        let log = Arc::new(ConnLog::new("stream"));
        let mut endpoints = Vec::new();
        if let Some(l) = tcp {
            let addr = l
                .local_addr()
                .map_err(|e| SinkError::new::<Self>("tcp", e))?;
            tracing::info!(addr = %addr, "stream listening on tcp");
            if !addr.ip().is_loopback() {
                tracing::warn!(addr = %addr, "stream is reachable from the network: frames are not encrypted or authenticated");
            }
            endpoints.push(Endpoint::Tcp(addr));
            let clients = cx.clients();
            let conn_log = log.clone();
            let on_conn = move |conn, peer, permit| {
                spawn_client(&clients, conn, peer, permit, limits, conn_log.clone())
            };
            cx.spawn(
                "stream tcp",
                accept_loop_logged(
                    cx.token(),
                    "stream tcp",
                    l,
                    admission.clone(),
                    log.clone(),
                    on_conn,
                ),
            );
        }
        if let Some((listener, file)) = unix {
            tracing::info!(path = %file.path().display(), "stream listening on unix socket");
            endpoints.push(Endpoint::Unix(file.path().to_path_buf()));
            let acc = UnixAccept {
                listener,
                _file: file,
                n: 0,
            };
            let clients = cx.clients();
            let conn_log = log.clone();
            let on_conn = move |conn, peer, permit| {
                spawn_client(&clients, conn, peer, permit, limits, conn_log.clone())
            };
            cx.spawn(
                "stream unix",
                accept_loop_logged(cx.token(), "stream unix", acc, admission, log, on_conn),
            );
        }
        Ok(cx.into_handle(endpoints))
    }
}

/// A Unix listener with a counter to name its (anonymous) peers; it owns the
/// socket file so the file goes away with the accept loop.
struct UnixAccept {
    listener: UnixListener,
    _file: SocketFile,
    n: u64,
}

impl Listener for UnixAccept {
    type Conn = tokio::net::UnixStream;
    async fn accept_one(&mut self) -> io::Result<(Self::Conn, String)> {
        let (s, _) = self.listener.accept().await?;
        self.n += 1;
        Ok((s, format!("unix#{}", self.n)))
    }
}

/// A client connection of either listener.
trait StreamConn: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The connection as a std socket, for its [`QuietWriter`].
    type Std: Socket;
    /// Takes the connection out of the reactor (non-blocking std socket).
    fn into_std(self) -> io::Result<Self::Std>;
}

impl StreamConn for tokio::net::TcpStream {
    type Std = std::net::TcpStream;
    fn into_std(self) -> io::Result<Self::Std> {
        // Frames are small and latency matters more than packet count.
        let _ = self.set_nodelay(true);
        tokio::net::TcpStream::into_std(self)
    }
}

impl StreamConn for tokio::net::UnixStream {
    type Std = std::os::unix::net::UnixStream;
    fn into_std(self) -> io::Result<Self::Std> {
        tokio::net::UnixStream::into_std(self)
    }
}

/// Starts one admitted client's task: its optional `Subscribe`, then its
/// frames until the bus closes or it fails. A client that fails before
/// its frames start (reset, a bad or slow `Subscribe`) goes to `log`
/// (rate-limited), one that gets them is logged on connect and disconnect.
fn spawn_client<C: StreamConn>(
    clients: &ClientSide,
    mut conn: C,
    peer: String,
    permit: tokio::sync::OwnedSemaphorePermit,
    limits: ClientLimits,
    log: Arc<ConnLog>,
) {
    // Subscribed before waiting, so nothing published meanwhile is lost.
    let frames = clients.frames(&peer, Selection::default());
    let stats = clients.stats().clone();
    let connected = Connected::new(stats.clone());
    clients.spawn(format!("stream client {peer}"), async move {
        let _permit = permit;
        let _connected = connected;
        let selection = match read_subscribe(&mut conn, SUBSCRIBE_WAIT).await {
            Ok(Some(sel)) => {
                tracing::info!(peer = %peer, selection = ?sel, "stream client connected, subscribed");
                sel
            }
            Ok(None) => {
                tracing::info!(peer = %peer, "stream client connected");
                Selection::default()
            }
            Err(e) => {
                log.note(e.cause(), &peer, &e);
                return;
            }
        };
        // Written directly from here on: no reactor wake-up per send.
        let conn = match conn.into_std() {
            Ok(c) => QuietWriter::new(c),
            Err(e) => {
                log.note("socket_unusable", &peer, &e);
                return;
            }
        };
        let sum = serve_client(conn, frames.select(selection), limits).await;
        if matches!(sum.end, ClientEnd::TooSlow | ClientEnd::WriteTimeout) {
            SinkStats::add(&stats.slow_disconnects, 1);
        }
        let (frames, dropped) = (sum.frames, sum.dropped);
        match sum.end {
            ClientEnd::Drained => {
                tracing::debug!(peer = %peer, frames, dropped, "stream client drained")
            }
            ClientEnd::TooSlow => tracing::warn!(
                peer = %peer, frames, dropped, "stream client too slow: disconnected"
            ),
            ClientEnd::WriteTimeout => tracing::warn!(
                peer = %peer, frames, dropped, "stream client stopped reading: disconnected"
            ),
            ClientEnd::Gone(e) => tracing::info!(
                peer = %peer, frames, dropped, error = %e, "stream client disconnected"
            ),
        }
    });
}
