//! `[daemon]`: settings of the process as a whole.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::checker::Checker;
use super::duration::HumanDuration;
use super::error::ConfigError;
use crate::sensor::host_clock::HostClock;

/// `[daemon]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    vehicle_id: Spanned<String>,
    shutdown_grace: Option<Spanned<HumanDuration>>,
    health_interval: Option<Spanned<HumanDuration>>,
    host_clock: Option<Spanned<String>>,
}

/// `[daemon]`: identity and process-wide timings.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// Which vehicle this daemon runs on (logs, recording names, topics).
    pub vehicle_id: String,
    /// How long shutdown may take before late tasks are named and aborted.
    pub shutdown_grace: Duration,
    /// Period of the `SensorHealth` frames each sensor sends besides the ones
    /// sent on state changes.
    pub health_interval: Duration,
    /// When the host clock is evidence of the date for GPS week rollover
    /// correction (`"ntp"`, `"trusted"`, `"untrusted"`).
    pub host_clock: HostClock,
}

impl DaemonConfig {
    /// Default `shutdown_grace`.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
    /// Default `health_interval`.
    pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
    /// Shortest `health_interval`: health frames are for state, and a
    /// nanosecond period would flood every client with them.
    pub const MIN_HEALTH_INTERVAL: Duration = Duration::from_millis(10);

    /// Checks `[daemon]`.
    pub fn validate(raw: &RawDaemon, c: &Checker<'_>) -> Result<Self, ConfigError> {
        let vehicle_id = raw.vehicle_id.get_ref().trim().to_owned();
        if vehicle_id.is_empty() {
            return Err(c.err(&raw.vehicle_id, "must not be empty"));
        }
        let host_clock = match &raw.host_clock {
            None => HostClock::default(),
            Some(v) => HostClock::from_name(v.get_ref()).ok_or_else(|| {
                c.err(
                    v,
                    &format!("must be one of {}", HostClock::NAMES.join(", ")),
                )
            })?,
        };
        Ok(DaemonConfig {
            vehicle_id,
            host_clock,
            shutdown_grace: c
                .duration(raw.shutdown_grace.as_ref(), Self::DEFAULT_SHUTDOWN_GRACE)?,
            health_interval: c.duration_at_least(
                raw.health_interval.as_ref(),
                Self::DEFAULT_HEALTH_INTERVAL,
                Self::MIN_HEALTH_INTERVAL,
            )?,
        })
    }
}
