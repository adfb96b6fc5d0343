//! `protocol = "nmea"`: NMEA 0183 sentences from a GNSS receiver.

use std::time::Duration;

use dronetel_wire::nmea::{NmeaDecoder, NmeaOptions};
use serde::Deserialize;
use toml::Spanned;

use super::Protocol;
use crate::config::{Checker, ConfigError, HumanDuration};
use crate::sensor::kind::SensorKind;

/// The NMEA protocol entry.
#[derive(Debug)]
pub struct Nmea;

/// The NMEA options as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNmea {
    require_checksum: Option<Spanned<bool>>,
    idle_gap: Option<Spanned<HumanDuration>>,
}

/// Options of the NMEA decoder a sensor may override.
#[derive(Debug, Clone, PartialEq)]
pub struct NmeaConfig {
    /// Drop sentences without a `*hh` checksum (default true).
    pub require_checksum: bool,
    /// Silence after which a held-back epoch is published; `None` keeps the
    /// decoder's default.
    pub idle_gap: Option<Duration>,
}

impl Protocol for Nmea {
    const NAME: &'static str = "nmea";
    const KINDS: &'static [SensorKind] = &[SensorKind::Gps];
    const OPTIONS: &'static [&'static str] = &["require_checksum", "idle_gap"];
    const RAW_NMEA: bool = true;
    type Raw = RawNmea;
    type Options = NmeaConfig;
    type Decoder = NmeaDecoder;

    fn options(raw: RawNmea, c: &Checker<'_>) -> Result<NmeaConfig, ConfigError> {
        let idle_gap = match &raw.idle_gap {
            None => None,
            Some(v) => Some(c.duration(Some(v), Duration::ZERO)?),
        };
        Ok(NmeaConfig {
            require_checksum: raw.require_checksum.as_ref().is_none_or(|v| *v.get_ref()),
            idle_gap,
        })
    }

    fn decoder(o: &NmeaConfig) -> NmeaDecoder {
        let mut opts = NmeaOptions {
            require_checksum: o.require_checksum,
            ..NmeaOptions::default()
        };
        if let Some(gap) = o.idle_gap {
            opts.idle_gap = gap;
        }
        NmeaDecoder::new(opts)
    }
}
