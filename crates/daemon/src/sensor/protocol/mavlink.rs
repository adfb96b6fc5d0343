//! `protocol = "mavlink"`: MAVLink v1/v2 from a flight controller.

use dronetel_wire::mavlink::{MavlinkDecoder, MavlinkOptions};
use serde::Deserialize;
use toml::Spanned;

use super::Protocol;
use crate::config::{Checker, ConfigError};
use crate::sensor::kind::SensorKind;

/// The MAVLink protocol entry.
#[derive(Debug)]
pub struct Mavlink;

/// The MAVLink options as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMavlink {
    request_message_rates: Option<Spanned<bool>>,
}

/// Options of a `protocol = "mavlink"` sensor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MavlinkConfig {
    /// Ask the autopilot for the message rates the daemon needs
    /// (MAV_CMD_SET_MESSAGE_INTERVAL) once its first HEARTBEAT arrives on a
    /// connection. Off by default: the link stays read-only.
    pub request_message_rates: bool,
}

impl Protocol for Mavlink {
    const NAME: &'static str = "mavlink";
    const KINDS: &'static [SensorKind] = &[SensorKind::FlightController];
    const OPTIONS: &'static [&'static str] = &["request_message_rates"];
    type Raw = RawMavlink;
    type Options = MavlinkConfig;
    type Decoder = MavlinkDecoder;

    fn options(raw: RawMavlink, _: &Checker<'_>) -> Result<MavlinkConfig, ConfigError> {
        Ok(MavlinkConfig {
            request_message_rates: raw
                .request_message_rates
                .as_ref()
                .is_some_and(|v| *v.get_ref()),
        })
    }

    fn decoder(o: &MavlinkConfig) -> MavlinkDecoder {
        let mut opts = MavlinkOptions::default();
        if o.request_message_rates {
            opts.rate_requests = MavlinkOptions::default_rate_requests();
        }
        MavlinkDecoder::new(opts)
    }
}
