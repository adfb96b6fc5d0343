//! The stream sink: TCP and Unix socket listeners whose clients each get
//! every frame of the bus, varint-delimited. One semaphore caps the clients
//! of both listeners together; over the cap a connection is closed at once.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;

use super::client::{serve_client, ClientEnd, ClientLimits};
use super::quiet_writer::{QuietWriter, Socket};
use super::rate::RateControlled;
use super::subscribe::{read_subscribe, SUBSCRIBE_WAIT};
use super::unix_socket::{self, SocketFile};
use crate::bus::Bus;
use crate::config::StreamConfig;
use crate::consumers::ConsumerId;
use crate::context::TaskContext;
use crate::sensor::Backoff;

/// Why the stream sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Binding the TCP listener failed.
    #[error("stream tcp {addr}: {source}")]
    Tcp {
        /// Configured address.
        addr: SocketAddr,
        /// Cause.
        source: io::Error,
    },
    /// Preparing or binding the Unix socket failed.
    #[error("stream unix {}: {source}", path.display())]
    Unix {
        /// Configured path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// Bound, not yet serving, stream listeners.
#[derive(Debug)]
pub struct StreamSink {
    tcp: Option<TcpListener>,
    unix: Option<(UnixListener, SocketFile)>,
    max_clients: usize,
    limits: ClientLimits,
}

/// A listener the accept loop can drive.
trait Accept: Send + 'static {
    type Conn: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The connection as a std socket, for its [`QuietWriter`].
    type Std: Socket;
    /// Accepts one connection and names its peer.
    fn accept_one(&mut self) -> impl Future<Output = io::Result<(Self::Conn, String)>> + Send;
    /// Takes the connection out of the reactor (non-blocking std socket).
    fn into_std(conn: Self::Conn) -> io::Result<Self::Std>;
}

impl Accept for TcpListener {
    type Conn = tokio::net::TcpStream;
    type Std = std::net::TcpStream;
    fn into_std(conn: Self::Conn) -> io::Result<Self::Std> {
        conn.into_std()
    }
    async fn accept_one(&mut self) -> io::Result<(Self::Conn, String)> {
        let (s, peer) = self.accept().await?;
        // Frames are small and latency matters more than packet count.
        let _ = s.set_nodelay(true);
        Ok((s, format!("tcp:{peer}")))
    }
}

/// A Unix listener with a counter to name its (anonymous) peers; it owns the
/// socket file so the file goes away with the accept loop.
struct UnixAccept {
    listener: UnixListener,
    _file: SocketFile,
    n: u64,
}

impl Accept for UnixAccept {
    type Conn = tokio::net::UnixStream;
    type Std = std::os::unix::net::UnixStream;
    fn into_std(conn: Self::Conn) -> io::Result<Self::Std> {
        conn.into_std()
    }
    async fn accept_one(&mut self) -> io::Result<(Self::Conn, String)> {
        let (s, _) = self.listener.accept().await?;
        self.n += 1;
        Ok((s, format!("unix#{}", self.n)))
    }
}

impl StreamSink {
    /// Binds the configured listeners (errors surface before any sensor
    /// starts). A Unix socket gets mode 0600; a stale socket file is removed.
    pub async fn bind(config: &StreamConfig) -> Result<Self, StreamError> {
        let tcp = match config.tcp {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StreamError::Tcp { addr, source })?,
            ),
            None => None,
        };
        let unix = match &config.unix {
            Some(path) => Some(unix_socket::bind(path)?),
            None => None,
        };
        Ok(Self {
            tcp,
            unix,
            max_clients: config.max_clients,
            limits: ClientLimits {
                max_drops: config.max_client_drops,
                write_timeout: config.write_timeout,
            },
        })
    }

    /// The bound TCP address (with the real port when 0 was configured).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The Unix socket path.
    pub fn unix_path(&self) -> Option<&Path> {
        self.unix.as_ref().map(|(_, f)| f.path())
    }

    /// Starts the accept loops (`stream tcp`, `stream unix`) on `ctx`. They
    /// stop accepting when the token is cancelled, removing the socket file;
    /// clients keep draining until the bus closes.
    pub fn spawn(self, ctx: &TaskContext, bus: &Bus) {
        let admission = Admission {
            clients: Arc::new(Semaphore::new(self.max_clients)),
            max_clients: self.max_clients,
            limits: self.limits,
        };
        if let Some(l) = self.tcp {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(addr = %addr, "stream listening on tcp");
                if !addr.ip().is_loopback() {
                    tracing::warn!(addr = %addr, "stream is reachable from the network: frames are not encrypted or authenticated");
                }
            }
            let fut = accept_loop(ctx.clone(), bus.clone(), l, admission.clone());
            ctx.spawn("stream tcp", fut);
        }
        if let Some((listener, file)) = self.unix {
            tracing::info!(path = %file.path().display(), "stream listening on unix socket");
            let acc = UnixAccept {
                listener,
                _file: file,
                n: 0,
            };
            let fut = accept_loop(ctx.clone(), bus.clone(), acc, admission);
            ctx.spawn("stream unix", fut);
        }
    }
}

async fn accept_loop<A: Accept>(ctx: TaskContext, bus: Bus, mut listener: A, admission: Admission) {
    let limits = admission.limits;
    let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        let accepted = tokio::select! {
            _ = ctx.token.cancelled() => break,
            r = listener.accept_one() => r,
        };
        let (conn, peer) = match accepted {
            Ok(c) => {
                backoff.reset();
                c
            }
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?delay, "stream accept failed");
                tokio::select! {
                    _ = ctx.token.cancelled() => break,
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        let Ok(permit) = admission.clients.clone().try_acquire_owned() else {
            tracing::warn!(peer = %peer, max_clients = admission.max_clients, "stream client refused: too many clients");
            drop(conn);
            continue;
        };
        let rx = bus.subscribe_as(ConsumerId {
            sink: "stream".into(),
            peer: Some(peer.clone()),
        });
        tracing::info!(peer = %peer, "stream client connected");
        let consumers = bus.consumers().clone();
        ctx.spawn(format!("stream client {peer}"), async move {
            let _permit = permit;
            let mut conn = conn;
            // Subscribed before waiting, so nothing published meanwhile is lost.
            let selection = match read_subscribe(&mut conn, SUBSCRIBE_WAIT).await {
                Ok(Some(sel)) => {
                    tracing::info!(peer = %peer, selection = ?sel, "stream client subscribed");
                    sel
                }
                Ok(None) => Default::default(),
                Err(e) => {
                    tracing::warn!(peer = %peer, error = %e, "stream client refused: bad subscribe");
                    return;
                }
            };
            // Written directly from here on: no reactor wake-up per send.
            let conn = match A::into_std(conn) {
                Ok(c) => QuietWriter::new(c),
                Err(e) => {
                    tracing::warn!(peer = %peer, error = %e, "stream client dropped: socket unusable");
                    return;
                }
            };
            let sum = serve_client(conn, RateControlled::new(rx, selection), limits).await;
            if matches!(sum.end, ClientEnd::TooSlow | ClientEnd::WriteTimeout) {
                consumers.count_slow_disconnect("stream");
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
    tracing::debug!("stream listener closed");
}

/// What every accept loop of one sink shares.
#[derive(Clone)]
struct Admission {
    clients: Arc<Semaphore>,
    max_clients: usize,
    limits: ClientLimits,
}
