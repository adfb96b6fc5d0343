//! `protocol = "ublox"`: a u-blox receiver, UBX binary and NMEA on one port
//! (u-blox modules interleave both by default): one `GpsFix` per epoch, UBX
//! values winning where both describe it; NMEA alone works too. With
//! `configure = true` the decoder asks the receiver for the UBX messages it
//! uses on every connection (the sensor task writes the requests).

use std::time::Duration;

use dronetel_wire::ubx::{UbloxDecoder, UbxOptions};
use serde::Deserialize;
use toml::Spanned;

use super::Protocol;
use crate::config::{Checker, ConfigError, HumanDuration};
use crate::sensor::kind::SensorKind;

/// The u-blox protocol entry.
#[derive(Debug)]
pub struct Ublox;

/// The u-blox options as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUblox {
    require_checksum: Option<Spanned<bool>>,
    idle_gap: Option<Spanned<HumanDuration>>,
    configure: Option<Spanned<bool>>,
}

/// Options of a `protocol = "ublox"` sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbloxConfig {
    /// Drop NMEA sentences without a `*hh` checksum (default true; UBX
    /// frames always carry theirs).
    pub require_checksum: bool,
    /// Silence after which a held-back epoch is published; `None` keeps the
    /// decoder's default.
    pub idle_gap: Option<Duration>,
    /// Ask the receiver on every connection to send NAV-PVT, NAV-SAT,
    /// NAV-DOP and NAV-EOE every solution (RAM only; default false: the
    /// link stays read-only). See `crates/wire/UBX.md`.
    pub configure: bool,
}

impl Protocol for Ublox {
    const NAME: &'static str = "ublox";
    const KINDS: &'static [SensorKind] = &[SensorKind::Gps];
    const OPTIONS: &'static [&'static str] = &["require_checksum", "idle_gap", "configure"];
    const RAW_NMEA: bool = true;
    type Raw = RawUblox;
    type Options = UbloxConfig;
    type Decoder = UbloxDecoder;

    fn options(raw: RawUblox, c: &Checker<'_>) -> Result<UbloxConfig, ConfigError> {
        let idle_gap = match &raw.idle_gap {
            None => None,
            Some(v) => Some(c.duration(Some(v), Duration::ZERO)?),
        };
        Ok(UbloxConfig {
            require_checksum: raw.require_checksum.as_ref().is_none_or(|v| *v.get_ref()),
            idle_gap,
            configure: raw.configure.as_ref().is_some_and(|v| *v.get_ref()),
        })
    }

    fn decoder(o: &UbloxConfig) -> UbloxDecoder {
        let mut opts = UbxOptions::default();
        opts.nmea.require_checksum = o.require_checksum;
        opts.configure = o.configure;
        if let Some(gap) = o.idle_gap {
            opts.idle_gap = gap;
            opts.nmea.idle_gap = gap;
        }
        UbloxDecoder::new(opts)
    }
}
