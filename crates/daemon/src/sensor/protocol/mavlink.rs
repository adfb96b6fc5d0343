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
    system_id: Option<Spanned<u8>>,
}

/// Options of a `protocol = "mavlink"` sensor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MavlinkConfig {
    /// Ask the autopilot for the message rates the daemon needs
    /// (MAV_CMD_SET_MESSAGE_INTERVAL) once its first HEARTBEAT arrives on a
    /// connection. Off by default: the link stays read-only.
    pub request_message_rates: bool,
    /// The autopilot's system id on a shared link; `None`: the system of
    /// the first HEARTBEAT from an autopilot.
    pub system_id: Option<u8>,
}

impl Protocol for Mavlink {
    const NAME: &'static str = "mavlink";
    const KINDS: &'static [SensorKind] = &[SensorKind::FlightController];
    const OPTIONS: &'static [&'static str] = &["request_message_rates", "system_id"];
    type Raw = RawMavlink;
    type Options = MavlinkConfig;
    type Decoder = MavlinkDecoder;

    fn options(raw: RawMavlink, c: &Checker<'_>) -> Result<MavlinkConfig, ConfigError> {
        if let Some(v) = raw.system_id.as_ref().filter(|v| *v.get_ref() == 0) {
            return Err(c.err(v, "must be a MAVLink system id from 1 to 255"));
        }
        Ok(MavlinkConfig {
            request_message_rates: raw
                .request_message_rates
                .as_ref()
                .is_some_and(|v| *v.get_ref()),
            system_id: raw.system_id.as_ref().map(|v| *v.get_ref()),
        })
    }

    fn decoder(o: &MavlinkConfig) -> MavlinkDecoder {
        let mut opts = MavlinkOptions {
            system_id: o.system_id,
            ..MavlinkOptions::default()
        };
        if o.request_message_rates {
            opts.rate_requests = MavlinkOptions::default_rate_requests();
        }
        MavlinkDecoder::new(opts)
    }
}
