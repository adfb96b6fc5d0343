//! The TCP transport: the daemon connects to a server (ArduPilot SITL on
//! 5760, a MAVLink router's TCP server, a networked GNSS receiver) and
//! reads it as a serial port. A refused connect, EOF or reset is a failure
//! like an unplugged device: DISCONNECTED, reconnect with the sensor's
//! backoff (50 ms doubling to 500 ms, so back within a second of the
//! server's return).

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::sensor::task::Opener;

/// Longest a connect may take (an unreachable host would otherwise hold the
/// task for the kernel's two minutes of SYN retries).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A TCP server to read, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// Host name or address (resolved at each connect).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl TcpConfig {
    /// `tcp://HOST:PORT`.
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("tcp://[{}]:{}", self.host, self.port)
        } else {
            format!("tcp://{}:{}", self.host, self.port)
        }
    }
}

/// Connects anew after every failure.
#[derive(Debug, Clone)]
pub struct TcpOpener {
    config: TcpConfig,
}

impl TcpOpener {
    /// An opener for `config`.
    pub fn new(config: TcpConfig) -> Self {
        Self { config }
    }
}

impl Opener for TcpOpener {
    type Port = TcpStream;
    // tokio's TcpStream waits for readiness after a short read itself.
    const SHORT_READ_DRAINS: bool = true;

    async fn open(&self) -> io::Result<TcpStream> {
        let addr = (self.config.host.as_str(), self.config.port);
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        // Requests written back (MAVLink rates) are small and go at once.
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn device(&self) -> String {
        self.config.url()
    }
}
