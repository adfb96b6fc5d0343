//! The UDP transport: a bound socket that a MAVLink router endpoint (or
//! SITL, or a networked receiver) sends datagrams to. A datagram may hold
//! several messages or part of one; the decoders take any chunking. Writes
//! (MAVLink rate requests) go to the sender of the last datagram. Senders
//! outside `allow_from` are dropped and counted.
//!
//! Default when `allow_from` is not set: any sender. On a loopback bind
//! that is the processes of this machine; on any other bind the daemon logs
//! a warning at start, since any host that reaches the port can feed the
//! sensor (set `allow_from`, and sign MAVLink).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UdpSocket;

use crate::sensor::task::{Opener, PortNews};

/// Largest UDP payload (IPv4).
const MAX_DATAGRAM: usize = 65_507;
/// Refused datagrams read in one poll before the task yields (a flood from
/// a refused sender must not hold the runtime's one thread).
const REFUSED_PER_POLL: u32 = 64;

/// A local UDP address to receive on, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpConfig {
    /// Address to bind.
    pub bind: SocketAddr,
    /// Senders accepted; empty: any.
    pub allow_from: Vec<IpAddr>,
}

impl UdpConfig {
    /// `udp://ADDR:PORT`.
    pub fn url(&self) -> String {
        format!("udp://{}", self.bind)
    }

    /// Logs, once at start, that a non-loopback bind with no `allow_from`
    /// takes datagrams from any host.
    pub(crate) fn warn_if_exposed(&self, sensor: &str) {
        if !self.bind.ip().is_loopback() {
            tracing::warn!(
                sensor = %sensor, bind = %self.bind, allow_from = ?self.allow_from,
                "udp input reachable from the network: any host that reaches it can feed this sensor unless allow_from limits the senders"
            );
        }
    }
}

/// Binds the socket anew after every failure.
#[derive(Debug, Clone)]
pub struct UdpOpener {
    config: UdpConfig,
}

impl UdpOpener {
    /// An opener for `config`.
    pub fn new(config: UdpConfig) -> Self {
        Self { config }
    }
}

impl Opener for UdpOpener {
    type Port = UdpPort;

    async fn open(&self) -> io::Result<UdpPort> {
        let socket = UdpSocket::bind(self.config.bind).await?;
        Ok(UdpPort {
            socket,
            allow: self.config.allow_from.clone(),
            datagram: vec![0; MAX_DATAGRAM].into_boxed_slice(),
            start: 0,
            end: 0,
            last: None,
            news: PortNews::default(),
        })
    }

    fn device(&self) -> String {
        self.config.url()
    }

    fn news(port: &mut UdpPort) -> PortNews {
        std::mem::take(&mut port.news)
    }
}

/// A bound socket read as a byte stream, one datagram after another.
#[derive(Debug)]
pub struct UdpPort {
    socket: UdpSocket,
    allow: Vec<IpAddr>,
    /// The datagram being handed out, `start..end` not yet read.
    datagram: Box<[u8]>,
    start: usize,
    end: usize,
    /// The sender of the last accepted datagram: where writes go.
    last: Option<SocketAddr>,
    /// What changed since the sensor task last asked.
    news: PortNews,
}

impl UdpPort {
    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.contains(&ip.to_canonical())
    }
}

impl AsyncRead for UdpPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut refused = 0;
        loop {
            if this.start < this.end {
                let n = out.remaining().min(this.end - this.start);
                out.put_slice(
                    this.datagram
                        .get(this.start..this.start + n)
                        .unwrap_or_default(),
                );
                this.start += n;
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.datagram);
            let from = ready!(this.socket.poll_recv_from(cx, &mut rb))?;
            let n = rb.filled().len();
            if !this.allowed(from.ip()) {
                this.news.rejected += 1;
                refused += 1;
                if refused >= REFUSED_PER_POLL {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            if this.last != Some(from) {
                this.last = Some(from);
                this.news.peer = Some(from.to_string());
            }
            // An empty datagram must not read as end of file.
            (this.start, this.end) = (0, n);
        }
    }
}

impl AsyncWrite for UdpPort {
    /// To the last sender; with none yet, the bytes have nowhere to go and
    /// are dropped.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.last {
            Some(peer) => {
                let n = ready!(this.socket.poll_send_to(cx, buf, peer))?;
                Poll::Ready(Ok(n))
            }
            None => Poll::Ready(Ok(buf.len())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
