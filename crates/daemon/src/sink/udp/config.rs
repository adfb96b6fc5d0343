//! `[udp]`: one frame per datagram to a unicast or multicast address.

use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError};
use crate::selection::Selection;

/// `[udp]` as written (its selection keys are read apart).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUdp {
    target: Spanned<SocketAddr>,
    bind: Option<SocketAddr>,
    max_datagram: Option<Spanned<usize>>,
    multicast_ttl: Option<u32>,
}

/// `[udp]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpConfig {
    /// Where datagrams go (a multicast group is joined by receivers).
    pub target: SocketAddr,
    /// Local address to send from (default: any address, any port).
    pub bind: Option<SocketAddr>,
    /// Largest datagram sent; a GPS frame over it loses its sky view.
    pub max_datagram: usize,
    /// Hop limit of multicast datagrams.
    pub multicast_ttl: u32,
    /// Filter and rates.
    pub selection: Selection,
}

impl UdpConfig {
    /// Default `max_datagram`: fits any path MTU of the internet.
    pub const DEFAULT_MAX_DATAGRAM: usize = 1200;
    /// Largest payload of one UDP datagram over IPv4.
    pub const MAX_MAX_DATAGRAM: usize = 65_507;

    /// Checks `[udp]`.
    pub fn validate(r: RawUdp, selection: Selection, c: &Checker<'_>) -> Result<Self, ConfigError> {
        let max_datagram = c.count(
            r.max_datagram.as_ref(),
            Self::DEFAULT_MAX_DATAGRAM,
            Self::MAX_MAX_DATAGRAM,
        )?;
        if let Some(v) = r.max_datagram.as_ref().filter(|_| max_datagram < 64) {
            return Err(c.err(v, "must be at least 64"));
        }
        let target = *r.target.get_ref();
        if target.port() == 0 {
            return Err(c.err(&r.target, "needs a port"));
        }
        Ok(UdpConfig {
            target,
            bind: r.bind,
            max_datagram,
            multicast_ttl: r.multicast_ttl.unwrap_or(1),
            selection,
        })
    }
}
