//! `protocol = "mavlink"`: MAVLink v1/v2 from a flight controller.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dronetel_wire::mavlink::{MavlinkDecoder, MavlinkOptions, SigningKey};
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
    signing_key_file: Option<Spanned<PathBuf>>,
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
    /// The link's MAVLink 2 signing key (read from `signing_key_file`):
    /// only validly signed, fresh messages are used; requests are signed.
    pub signing: Option<SigningKey>,
}

impl Protocol for Mavlink {
    const NAME: &'static str = "mavlink";
    const KINDS: &'static [SensorKind] = &[SensorKind::FlightController];
    const OPTIONS: &'static [&'static str] =
        &["request_message_rates", "system_id", "signing_key_file"];
    type Raw = RawMavlink;
    type Options = MavlinkConfig;
    type Decoder = MavlinkDecoder;

    fn options(raw: RawMavlink, c: &Checker<'_>) -> Result<MavlinkConfig, ConfigError> {
        if let Some(v) = raw.system_id.as_ref().filter(|v| *v.get_ref() == 0) {
            return Err(c.err(v, "must be a MAVLink system id from 1 to 255"));
        }
        let signing = match &raw.signing_key_file {
            Some(path) => Some(read_key(path.get_ref()).map_err(|why| c.err(path, &why))?),
            None => None,
        };
        Ok(MavlinkConfig {
            signing,
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
            signing: o.signing.clone(),
            ..MavlinkOptions::default()
        };
        if o.request_message_rates {
            opts.rate_requests = MavlinkOptions::default_rate_requests();
        }
        MavlinkDecoder::new(opts)
    }
}

/// Reads a signing key file: its passphrase (the key is its SHA-256, as
/// MAVProxy's `signing setup` and QGroundControl derive it) or exactly 64
/// hex digits (the raw key). A file others may read is refused: the key
/// signs commands to the autopilot.
fn read_key(path: &Path) -> Result<SigningKey, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} is readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    SigningKey::from_file_text(&text).ok_or_else(|| format!("{} is empty", path.display()))
}
