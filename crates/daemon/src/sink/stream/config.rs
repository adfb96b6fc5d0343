//! `[stream]`: where stream clients connect and how slow ones are treated.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError, HumanDuration};

/// `[stream]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStream {
    tcp: Option<Spanned<SocketAddr>>,
    unix: Option<Spanned<PathBuf>>,
    max_clients: Option<Spanned<usize>>,
    client_queue: Option<Spanned<usize>>,
    max_client_drops: Option<u64>,
    write_timeout: Option<Spanned<HumanDuration>>,
}

/// `[stream]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// TCP listen address (loopback unless you mean otherwise); `None`: off.
    pub tcp: Option<SocketAddr>,
    /// Unix socket path (created mode 0600, removed on shutdown); `None`: off.
    pub unix: Option<PathBuf>,
    /// Most clients connected at once over TCP and Unix together.
    pub max_clients: usize,
    /// Frames the bus keeps for each client; a client further behind loses
    /// its oldest frames (counted).
    pub client_queue: usize,
    /// Frames a client may lose in total before it is disconnected
    /// (0: never disconnect for losses).
    pub max_client_drops: u64,
    /// Longest one write to a client may block before it is disconnected.
    pub write_timeout: Duration,
}

impl Default for StreamConfig {
    /// What a file without `[stream]` gets: TCP on `127.0.0.1:4780` only.
    fn default() -> Self {
        Self {
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], Self::DEFAULT_TCP_PORT))),
            unix: None,
            max_clients: Self::DEFAULT_MAX_CLIENTS,
            client_queue: Self::DEFAULT_CLIENT_QUEUE,
            max_client_drops: Self::DEFAULT_MAX_CLIENT_DROPS,
            write_timeout: Self::DEFAULT_WRITE_TIMEOUT,
        }
    }
}

impl StreamConfig {
    /// Port of the default TCP listener (on loopback).
    pub const DEFAULT_TCP_PORT: u16 = 4780;
    /// Default `max_clients`.
    pub const DEFAULT_MAX_CLIENTS: usize = 64;
    /// Default `client_queue`.
    pub const DEFAULT_CLIENT_QUEUE: usize = crate::bus::Bus::DEFAULT_QUEUE;
    /// Default `max_client_drops`.
    pub const DEFAULT_MAX_CLIENT_DROPS: u64 = 10_000;
    /// Largest `max_clients` accepted (each client is a task and a socket).
    pub const MAX_MAX_CLIENTS: usize = 10_000;
    /// Largest `client_queue` accepted (frames kept per client).
    pub const MAX_CLIENT_QUEUE: usize = 1 << 20;
    /// Default `write_timeout`.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

    /// Checks `[stream]`.
    pub fn validate(s: RawStream, c: &Checker<'_>) -> Result<Self, ConfigError> {
        if s.tcp.is_none() && s.unix.is_none() {
            return Err(c.err_key("stream", "set at least one of `tcp` and `unix`"));
        }
        if let Some(u) = &s.unix {
            if u.get_ref().as_os_str().is_empty() {
                return Err(c.err(u, "must not be empty"));
            }
        }
        Ok(StreamConfig {
            tcp: s.tcp.as_ref().map(|t| *t.get_ref()),
            unix: s.unix.as_ref().map(|u| u.get_ref().clone()),
            max_clients: c.count(
                s.max_clients.as_ref(),
                Self::DEFAULT_MAX_CLIENTS,
                Self::MAX_MAX_CLIENTS,
            )?,
            client_queue: c.count(
                s.client_queue.as_ref(),
                Self::DEFAULT_CLIENT_QUEUE,
                Self::MAX_CLIENT_QUEUE,
            )?,
            max_client_drops: s.max_client_drops.unwrap_or(Self::DEFAULT_MAX_CLIENT_DROPS),
            write_timeout: c.duration(s.write_timeout.as_ref(), Self::DEFAULT_WRITE_TIMEOUT)?,
        })
    }
}
