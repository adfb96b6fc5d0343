//! A device's network outputs, next to its pty: the same bytes (faults
//! included) sent over UDP to one address, and served to every client of a
//! TCP listener, as ArduPilot SITL does on 5760. What comes back (commands)
//! is counted like the bytes written to the pty.
//!
//! Unplugging the device closes them (the listener, every TCP client, the
//! UDP socket); replugging binds them again at the same local addresses.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use dronetel_wire::mavlink::common::MavMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::pty::WriteOutcome;
use crate::SimError;

/// TCP clients served at once; further connections are closed at accept.
const MAX_TCP_CLIENTS: usize = 16;
/// Cycles queued per TCP client before that client's cycles are dropped.
const CLIENT_QUEUE: usize = 256;
/// Largest UDP datagram sent: longer writes (a noise burst) are split.
const MAX_DATAGRAM: usize = 8 * 1024;
/// Largest read of commands (one datagram or one TCP read).
const READ_BUF: usize = 2048;
/// First and longest wait before an accept is retried after an error.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// Where a device's network outputs go (both off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NetConfig {
    /// Send the output to this address over UDP, from a socket of our own.
    pub(crate) udp: Option<SocketAddr>,
    /// Serve the output to the TCP clients of a listener bound here.
    pub(crate) tcp_listen: Option<SocketAddr>,
}

impl NetConfig {
    pub(crate) fn is_off(&self) -> bool {
        self.udp.is_none() && self.tcp_listen.is_none()
    }
}

/// The local addresses the outputs are bound at (port 0 resolved), kept
/// across replugs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NetAddrs {
    pub(crate) udp_local: Option<SocketAddr>,
    pub(crate) tcp_listen: Option<SocketAddr>,
}

/// The open network outputs of a plugged device. Dropping it closes them.
#[derive(Debug)]
pub(crate) struct Net {
    udp: Option<(Arc<UdpSocket>, SocketAddr)>,
    clients: Option<Arc<Mutex<Vec<mpsc::Sender<Bytes>>>>>,
    cancel: CancellationToken,
}

impl Drop for Net {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn net_err(op: &'static str, addr: SocketAddr) -> impl FnOnce(io::Error) -> SimError {
    move |source| SimError::Net { op, addr, source }
}

impl Net {
    /// Binds the outputs of `config` (at `addrs` when they were bound
    /// before, so a replug keeps its ports) and spawns their tasks.
    pub(crate) fn open(
        config: NetConfig,
        addrs: NetAddrs,
        shared: &Arc<Shared>,
    ) -> Result<(Net, NetAddrs), SimError> {
        let cancel = CancellationToken::new();
        let mut bound = NetAddrs::default();
        let mut net = Net {
            udp: None,
            clients: None,
            cancel: cancel.clone(),
        };
        if let Some(dest) = config.udp {
            // A loopback destination is sent to from loopback: the command
            // socket is then not reachable from the network.
            let local = addrs.udp_local.unwrap_or_else(|| match dest {
                d if d.ip().is_loopback() => SocketAddr::new(d.ip(), 0),
                SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
                SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
            });
            let socket = std::net::UdpSocket::bind(local)
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .and_then(UdpSocket::from_std)
                .map_err(net_err("udp bind", local))?;
            let socket = Arc::new(socket);
            bound.udp_local = Some(socket.local_addr().map_err(net_err("udp bind", local))?);
            tokio::spawn(udp_input(socket.clone(), shared.clone(), cancel.clone()));
            net.udp = Some((socket, dest));
        }
        if let Some(addr) = addrs.tcp_listen.or(config.tcp_listen) {
            let listener = std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .and_then(TcpListener::from_std)
                .map_err(net_err("tcp listen", addr))?;
            bound.tcp_listen = Some(listener.local_addr().map_err(net_err("tcp listen", addr))?);
            let clients = Arc::new(Mutex::new(Vec::new()));
            tokio::spawn(accept(
                listener,
                clients.clone(),
                shared.clone(),
                cancel.clone(),
            ));
            net.clients = Some(clients);
        }
        Ok((net, bound))
    }

    /// Sends `buf` without waiting: over UDP (in datagrams of at most
    /// [`MAX_DATAGRAM`] bytes) and queued to every TCP client. Counts as
    /// written if the UDP socket or at least one TCP client took all of it.
    pub(crate) fn write_or_drop(&self, buf: &[u8]) -> WriteOutcome {
        let mut whole = false;
        if let Some((socket, dest)) = &self.udp {
            // ECONNREFUSED (nobody listening yet) or a full socket buffer
            // lose the datagram, as UDP does.
            whole |= buf
                .chunks(MAX_DATAGRAM)
                .all(|c| socket.try_send_to(c, *dest).is_ok_and(|n| n == c.len()));
        }
        if let Some(clients) = &self.clients {
            let bytes = Bytes::copy_from_slice(buf);
            let mut clients = clients.lock().unwrap_or_else(|e| e.into_inner());
            // A closed sender is a client that left; a full one lags and
            // loses this write.
            clients.retain(|c| match c.try_send(bytes.clone()) {
                Ok(()) => {
                    whole = true;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        }
        if whole {
            WriteOutcome {
                written: buf.len(),
                dropped: 0,
            }
        } else {
            WriteOutcome {
                written: 0,
                dropped: buf.len(),
            }
        }
    }
}

/// Counts what came back (bytes, and MAVLink COMMAND_LONG messages in it).
fn received(shared: &Shared, data: &[u8]) {
    shared
        .bytes_received
        .fetch_add(data.len() as u64, Ordering::SeqCst);
    let mut reader = mavlink::MavlinkReader::new(data);
    while let Ok((_, msg)) = reader.read_any_message::<MavMessage>() {
        if let MavMessage::COMMAND_LONG(c) = msg {
            shared.commands_received.fetch_add(1, Ordering::SeqCst);
            tracing::debug!(device = shared.name, command = ?c.command, "command received");
        }
    }
}

/// Reads the datagrams sent back to the UDP socket.
async fn udp_input(socket: Arc<UdpSocket>, shared: Arc<Shared>, cancel: CancellationToken) {
    let mut buf = vec![0u8; READ_BUF];
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, _)) => received(&shared, &buf[..n]),
                // ICMP port unreachable from an earlier send: not ours to fix.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    tracing::warn!(device = shared.name, error = %e, "udp receive failed");
                    tokio::time::sleep(ACCEPT_BACKOFF.0).await;
                }
            },
        }
    }
}

/// Accepts TCP clients (at most [`MAX_TCP_CLIENTS`]), retrying failed
/// accepts with a capped backoff.
async fn accept(
    listener: TcpListener,
    clients: Arc<Mutex<Vec<mpsc::Sender<Bytes>>>>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let mut backoff = ACCEPT_BACKOFF.0;
    loop {
        let r = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => r,
        };
        match r {
            Ok((stream, peer)) => {
                backoff = ACCEPT_BACKOFF.0;
                let mut list = clients.lock().unwrap_or_else(|e| e.into_inner());
                list.retain(|c| !c.is_closed());
                if list.len() >= MAX_TCP_CLIENTS {
                    tracing::warn!(device = shared.name, %peer, max = MAX_TCP_CLIENTS, "tcp client refused: too many clients");
                    continue;
                }
                let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
                list.push(tx);
                tracing::info!(device = shared.name, %peer, clients = list.len(), "tcp client connected");
                tokio::spawn(serve(stream, peer, rx, shared.clone(), cancel.clone()));
            }
            Err(e) => {
                tracing::warn!(device = shared.name, error = %e, retry_in = ?backoff, "tcp accept failed");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
            }
        }
    }
}

/// Writes the queued output to one TCP client and reads its commands,
/// until it leaves or the device is unplugged.
async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    mut rx: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.split();
    let mut buf = vec![0u8; READ_BUF];
    let why = loop {
        tokio::select! {
            _ = cancel.cancelled() => break "device unplugged",
            out = rx.recv() => match out {
                Some(bytes) => {
                    if write.write_all(&bytes).await.is_err() {
                        break "write failed";
                    }
                }
                None => break "device closed",
            },
            r = read.read(&mut buf) => match r {
                Ok(0) | Err(_) => break "client left",
                Ok(n) => received(&shared, &buf[..n]),
            },
        }
    };
    tracing::info!(device = shared.name, %peer, why, "tcp client disconnected");
}
