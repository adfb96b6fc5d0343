//! `[foxglove]`: the Foxglove WebSocket server's address and its bounds.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError, HumanDuration};
use crate::selection::Selection;

/// `[foxglove]` as written (its selection keys are read apart).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFoxglove {
    listen: Option<Spanned<SocketAddr>>,
    max_clients: Option<Spanned<usize>>,
    max_client_drops: Option<u64>,
    write_timeout: Option<Spanned<HumanDuration>>,
    max_client_message: Option<Spanned<usize>>,
}

/// `[foxglove]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FoxgloveConfig {
    /// Listen address (loopback unless you mean otherwise).
    pub listen: SocketAddr,
    /// Most clients connected at once; more are refused at once.
    pub max_clients: usize,
    /// Frames a client may lose (it fell behind by the bus queue) before
    /// it is disconnected (0: never).
    pub max_client_drops: u64,
    /// Longest one send to a client may block before it is disconnected.
    pub write_timeout: Duration,
    /// Largest message (and frame) a client may send, bytes; a larger one
    /// closes its connection.
    pub max_client_message: usize,
    /// Filter and rates.
    pub selection: Selection,
}

impl FoxgloveConfig {
    /// Default `listen`: Foxglove's usual port, on loopback.
    pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        8765,
    ));
    /// Default `max_clients`.
    pub const DEFAULT_MAX_CLIENTS: usize = 8;
    /// Largest `max_clients` accepted.
    pub const MAX_MAX_CLIENTS: usize = 1000;
    /// Default `max_client_drops`.
    pub const DEFAULT_MAX_CLIENT_DROPS: u64 = 10_000;
    /// Default `write_timeout`.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default `max_client_message` (subscribe requests are small).
    pub const DEFAULT_MAX_CLIENT_MESSAGE: usize = 64 * 1024;
    /// Largest `max_client_message` accepted.
    pub const MAX_MAX_CLIENT_MESSAGE: usize = 16 << 20;

    /// Checks `[foxglove]`.
    pub fn validate(
        r: RawFoxglove,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        Ok(FoxgloveConfig {
            listen: r
                .listen
                .as_ref()
                .map_or(Self::DEFAULT_LISTEN, |l| *l.get_ref()),
            max_clients: c.count(
                r.max_clients.as_ref(),
                Self::DEFAULT_MAX_CLIENTS,
                Self::MAX_MAX_CLIENTS,
            )?,
            max_client_drops: r.max_client_drops.unwrap_or(Self::DEFAULT_MAX_CLIENT_DROPS),
            write_timeout: c.duration(r.write_timeout.as_ref(), Self::DEFAULT_WRITE_TIMEOUT)?,
            max_client_message: c.count(
                r.max_client_message.as_ref(),
                Self::DEFAULT_MAX_CLIENT_MESSAGE,
                Self::MAX_MAX_CLIENT_MESSAGE,
            )?,
            selection,
        })
    }
}
