//! Transports: how a sensor task reaches its byte stream. Each transport
//! is an [`Opener`](super::task::Opener) the generic task reopens after
//! every failure; the configuration's `path` picks it: a device path is a
//! serial port, `tcp://HOST:PORT` a TCP server to connect to, and
//! `udp://ADDR:PORT` a local address to receive datagrams on. Any protocol
//! may use any transport.
//!
//! # Layout
//! - [`serial`]: a serial device or pty, opened by tokio-serial's builder and
//!   read through [`serial::SerialPort`] (a short read waits for readiness).
//! - [`tcp`]: a TCP client (SITL, a router's TCP server, a networked
//!   receiver), reconnected with the sensor's backoff.
//! - [`udp`]: a bound UDP socket (a router's endpoint sends here); writes
//!   go to the last sender.

pub mod serial;
pub mod tcp;
pub mod udp;

use std::net::{IpAddr, SocketAddr};

use tokio::task::JoinHandle;
use toml::Spanned;

use dronetel_wire::SensorDecoder;

use super::task::{run_sensor, SensorSettings};
use crate::bus::Bus;
use crate::config::{Checker, ConfigError};
use crate::context::TaskContext;
pub use serial::{SerialConfig, SerialOpener};
pub use tcp::{TcpConfig, TcpOpener};
pub use udp::{UdpConfig, UdpOpener};

/// Where a sensor's bytes come from, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// A serial device at a fixed line speed.
    Serial(SerialConfig),
    /// A TCP server the daemon connects to.
    Tcp(TcpConfig),
    /// A local UDP address the daemon receives datagrams on.
    Udp(UdpConfig),
}

impl TransportConfig {
    /// Reads `path` (a device path or a `tcp://`/`udp://` URL) with the
    /// keys that belong to one transport only: `baud` (serial, required)
    /// and `allow_from` (UDP).
    pub fn parse(
        path: &Spanned<String>,
        baud: Option<&Spanned<u32>>,
        allow_from: Option<&Spanned<Vec<IpAddr>>>,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        let text = path.get_ref().trim();
        if text.is_empty() {
            return Err(c.err(path, "must not be empty"));
        }
        let transport = match text.split_once("://") {
            None => {
                let Some(baud) = baud else {
                    return Err(c.err(path, "a serial device needs `baud` (its line speed)"));
                };
                if *baud.get_ref() == 0 {
                    return Err(c.err(baud, "must be greater than 0"));
                }
                TransportConfig::Serial(SerialConfig {
                    path: text.into(),
                    baud: *baud.get_ref(),
                })
            }
            Some(("tcp", rest)) => {
                let (host, port) = host_port(rest).ok_or_else(|| {
                    c.err(path, "expected tcp://HOST:PORT (a port from 1 to 65535)")
                })?;
                TransportConfig::Tcp(TcpConfig {
                    host: host.to_owned(),
                    port,
                })
            }
            Some(("udp", rest)) => {
                let bind: SocketAddr = rest.parse().map_err(|_| {
                    c.err(
                        path,
                        "expected udp://IP:PORT (the local address to receive on)",
                    )
                })?;
                if bind.port() == 0 {
                    return Err(c.err(path, "needs a port (senders must know where to send)"));
                }
                let allow_from = allow_from.map(|a| a.get_ref().clone()).unwrap_or_default();
                TransportConfig::Udp(UdpConfig { bind, allow_from })
            }
            Some((scheme, _)) => {
                return Err(c.err(
                    path,
                    &format!("unknown scheme `{scheme}://`: a device path, tcp:// or udp://"),
                ))
            }
        };
        if let (Some(b), false) = (baud, matches!(transport, TransportConfig::Serial(_))) {
            return Err(c.err(b, "applies to serial devices only, not to a network path"));
        }
        if let (Some(a), false) = (allow_from, matches!(transport, TransportConfig::Udp(_))) {
            return Err(c.err(a, "applies to udp:// inputs only"));
        }
        Ok(transport)
    }

    /// The device as health frames and logs name it.
    pub fn device(&self) -> String {
        match self {
            TransportConfig::Serial(s) => s.path.display().to_string(),
            TransportConfig::Tcp(t) => t.url(),
            TransportConfig::Udp(u) => u.url(),
        }
    }

    /// Whether two sensors would fight over the same device: one serial
    /// path or one local UDP address (TCP clients may share a server).
    pub fn shares_with(&self, other: &TransportConfig) -> bool {
        match (self, other) {
            (TransportConfig::Serial(a), TransportConfig::Serial(b)) => a.path == b.path,
            (TransportConfig::Udp(a), TransportConfig::Udp(b)) => a.bind == b.bind,
            _ => false,
        }
    }

    /// The line speed, for a serial device.
    pub fn baud(&self) -> Option<u32> {
        match self {
            TransportConfig::Serial(s) => Some(s.baud),
            TransportConfig::Tcp(_) | TransportConfig::Udp(_) => None,
        }
    }

    /// What keeps this transport from being used by this process, found
    /// before start-up (a serial path that is a directory or not ours to
    /// open); the config key it concerns and why.
    pub fn check_access(&self) -> Result<(), (&'static str, String)> {
        match self {
            TransportConfig::Serial(s) => s.check_access().map_err(|why| ("path", why)),
            TransportConfig::Tcp(_) | TransportConfig::Udp(_) => Ok(()),
        }
    }

    /// Spawns the generic sensor task for `decoder` over this transport on
    /// `ctx`, named `task`.
    pub(crate) fn spawn<D: SensorDecoder>(
        &self,
        ctx: &TaskContext,
        task: String,
        bus: Bus,
        settings: SensorSettings,
        decoder: D,
    ) -> JoinHandle<()> {
        let token = ctx.token.clone();
        match self {
            TransportConfig::Serial(s) => {
                let opener = SerialOpener {
                    path: s.path.clone(),
                    baud: s.baud,
                };
                ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
            }
            TransportConfig::Tcp(t) => {
                let opener = TcpOpener::new(t.clone());
                ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
            }
            TransportConfig::Udp(u) => {
                u.warn_if_exposed(&settings.name);
                let opener = UdpOpener::new(u.clone());
                ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
            }
        }
    }
}

/// `HOST:PORT` (an IPv6 host in brackets) with a port from 1 to 65535.
fn host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.trim_end_matches('/').rsplit_once(':')?;
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some((host, port))
}
