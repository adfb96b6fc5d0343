//! `[gpsd]`: where gpsd clients connect and how slow ones are treated.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError, HumanDuration};
use crate::selection::{Kind, Selection};

/// `[gpsd]` as written (its selection keys are read apart).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGpsd {
    listen: Spanned<SocketAddr>,
    max_clients: Option<Spanned<usize>>,
    max_client_drops: Option<u64>,
    write_timeout: Option<Spanned<HumanDuration>>,
}

/// `[gpsd]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct GpsdConfig {
    /// TCP listen address (gpsd's port is 2947; loopback unless you mean
    /// otherwise).
    pub listen: SocketAddr,
    /// Most clients connected at once; more are closed at once.
    pub max_clients: usize,
    /// Reports a client may lose in total before it is disconnected (0:
    /// never).
    pub max_client_drops: u64,
    /// Longest one write to a client may block before it is disconnected.
    pub write_timeout: Duration,
    /// Which sensors' fixes are served (kinds: GPS fixes only).
    pub selection: Selection,
}

impl GpsdConfig {
    /// Default `max_clients`.
    pub const DEFAULT_MAX_CLIENTS: usize = 16;
    /// Largest `max_clients` accepted (each client is a task and a socket).
    pub const MAX_MAX_CLIENTS: usize = 1024;
    /// Default `max_client_drops`.
    pub const DEFAULT_MAX_CLIENT_DROPS: u64 = 10_000;
    /// Default `write_timeout`.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

    /// Checks `[gpsd]`.
    pub fn validate(
        r: RawGpsd,
        mut selection: Selection,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        // Only fixes become gpsd reports; health frames would only be
        // read and thrown away by every client.
        selection.kinds = [Kind::Gps].into();
        Ok(GpsdConfig {
            listen: *r.listen.get_ref(),
            max_clients: c.count(
                r.max_clients.as_ref(),
                Self::DEFAULT_MAX_CLIENTS,
                Self::MAX_MAX_CLIENTS,
            )?,
            max_client_drops: r.max_client_drops.unwrap_or(Self::DEFAULT_MAX_CLIENT_DROPS),
            write_timeout: c.duration(r.write_timeout.as_ref(), Self::DEFAULT_WRITE_TIMEOUT)?,
            selection,
        })
    }
}
