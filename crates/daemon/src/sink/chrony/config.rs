//! `[chrony]`: chrony's `refclock SOCK` socket and the GPS source whose
//! fix times are sent to it.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError};

/// `[chrony]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChrony {
    socket: Spanned<PathBuf>,
    sensor: Spanned<String>,
}

/// `[chrony]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ChronyConfig {
    /// chronyd's socket (the path of its `refclock SOCK` line).
    pub socket: PathBuf,
    /// The sensor whose fix times are sent.
    pub sensor: String,
}

impl ChronyConfig {
    /// Checks `[chrony]`.
    pub fn validate(r: RawChrony, c: &Checker<'_>) -> Result<Self, ConfigError> {
        if r.socket.get_ref().as_os_str().is_empty() {
            return Err(c.err(&r.socket, "must not be empty"));
        }
        if r.sensor.get_ref().is_empty() {
            return Err(c.err(&r.sensor, "must name a sensor"));
        }
        Ok(ChronyConfig {
            socket: r.socket.get_ref().clone(),
            sensor: r.sensor.get_ref().clone(),
        })
    }
}
