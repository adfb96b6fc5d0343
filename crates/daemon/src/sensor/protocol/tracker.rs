//! `protocol = "tracker"`: the object tracker's COBS/CRC-32 protobuf frames.

use dronetel_wire::tracker::TrackerDecoder;
use serde::Deserialize;

use super::Protocol;
use crate::config::{Checker, ConfigError};
use crate::sensor::kind::SensorKind;

/// The tracker protocol entry.
#[derive(Debug)]
pub struct Tracker;

/// The tracker's options as written: none (the wire protocol fixes
/// framing, CRC and frame size).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTracker {}

/// Options of a `protocol = "tracker"` sensor (none yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackerConfig {}

impl Protocol for Tracker {
    const NAME: &'static str = "tracker";
    const KINDS: &'static [SensorKind] = &[SensorKind::Tracking];
    const OPTIONS: &'static [&'static str] = &[];
    type Raw = RawTracker;
    type Options = TrackerConfig;
    type Decoder = TrackerDecoder;

    fn options(_: RawTracker, _: &Checker<'_>) -> Result<TrackerConfig, ConfigError> {
        Ok(TrackerConfig {})
    }

    fn decoder(_: &TrackerConfig) -> TrackerDecoder {
        TrackerDecoder::default()
    }
}
