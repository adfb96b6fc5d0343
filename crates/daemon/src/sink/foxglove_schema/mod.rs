//! Foxglove's well-known schemas made from frames: a GPS fix becomes a
//! `foxglove.LocationFix` (the Map panel), a sensor state change a
//! `foxglove.Log` (the Log panel), a tracking update a
//! `foxglove.SceneUpdate` (the 3D panel). Written once and used by the
//! recording and the Foxglove WebSocket sink, so a recording and a live
//! view carry the same topics and schemas. The frames' own channels
//! (`<sensor>/<kind>`, `dronetel.v1.Frame`) are not touched.
//!
//! # Layout
//! - this file: [`WellKnown`] (one schema and its descriptor set),
//!   [`Converter`] (frame → messages; remembers each sensor's last state).
//! - [`location`]: `GpsFix` → `foxglove.LocationFix`, covariance rules.
//! - [`objects`]: `TrackingUpdate` → `foxglove.SceneUpdate`.

pub mod location;
pub mod objects;

use std::collections::HashMap;

use dronetel_proto::foxglove::{log::Level, Log};
use dronetel_proto::v1::{frame::Body, Frame, SensorHealth, SensorState};
use prost::Message;

/// A schema a Foxglove client knows by name: its name, its topic suffix
/// (`<sensor>/<suffix>`) and the descriptor set it decodes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WellKnown {
    /// `foxglove.LocationFix` on `<sensor>/fix`.
    LocationFix,
    /// `foxglove.Log` on `<sensor>/log`.
    Log,
    /// `foxglove.SceneUpdate` on `<sensor>/objects`.
    SceneUpdate,
}

impl WellKnown {
    /// Every well-known schema dronetel publishes.
    pub const ALL: [WellKnown; 3] = [Self::LocationFix, Self::Log, Self::SceneUpdate];

    /// The schema's full protobuf name.
    pub fn schema_name(self) -> &'static str {
        match self {
            Self::LocationFix => "foxglove.LocationFix",
            Self::Log => "foxglove.Log",
            Self::SceneUpdate => "foxglove.SceneUpdate",
        }
    }

    /// The last part of its topic.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::LocationFix => "fix",
            Self::Log => "log",
            Self::SceneUpdate => "objects",
        }
    }

    /// The encoded `FileDescriptorSet` (the schema with every file it
    /// imports) that a client decodes it with.
    pub fn descriptor_set(self) -> &'static [u8] {
        match self {
            Self::LocationFix => dronetel_proto::FOXGLOVE_LOCATION_FIX,
            Self::Log => dronetel_proto::FOXGLOVE_LOG,
            Self::SceneUpdate => dronetel_proto::FOXGLOVE_SCENE_UPDATE,
        }
    }
}

/// One well-known message made from a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct WellKnownMessage {
    /// Its schema.
    pub schema: WellKnown,
    /// Its topic, `<sensor>/<suffix>`.
    pub topic: String,
    /// The message's time (fix time, state-change time), ns since the epoch.
    pub time_ns: u64,
    /// The encoded message.
    pub data: Vec<u8>,
}

/// Turns frames into well-known messages. It keeps each sensor's last
/// health state so that only a change becomes a `Log` (health frames also
/// come every second without one); a new converter (a new recording file,
/// a new WebSocket client) starts with the current state as its first
/// entry.
#[derive(Debug, Default)]
pub struct Converter {
    states: HashMap<String, i32>,
}

/// Nanoseconds since the epoch of a protobuf timestamp (0 before 1970).
pub(crate) fn nanos(t: Option<&prost_types::Timestamp>) -> Option<u64> {
    let t = t?;
    let s = u64::try_from(t.seconds).ok()?;
    s.checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(t.nanos).unwrap_or(0))
}

impl Converter {
    /// The well-known message `frame` makes, if any (battery and vehicle
    /// frames, fixes without a position and repeated states make none).
    pub fn convert(&mut self, frame: &Frame) -> Option<WellKnownMessage> {
        let received = frame.received_at;
        let (schema, time, data) = match frame.body.as_ref()? {
            Body::Gps(g) => {
                let fix = location::location_fix(&frame.sensor, g, received)?;
                let time = fix.timestamp;
                (WellKnown::LocationFix, time, fix.encode_to_vec())
            }
            Body::Health(h) => {
                let log = self.state_change(&frame.sensor, h, received)?;
                (WellKnown::Log, received, log.encode_to_vec())
            }
            Body::Tracking(t) => {
                let update = objects::scene_update(&frame.sensor, t, received);
                let time = t.captured_at.or(received);
                (WellKnown::SceneUpdate, time, update.encode_to_vec())
            }
            Body::Battery(_) | Body::Vehicle(_) => return None,
        };
        Some(WellKnownMessage {
            schema,
            topic: format!("{}/{}", frame.sensor, schema.suffix()),
            time_ns: nanos(time.as_ref()).unwrap_or(0),
            data,
        })
    }

    /// A `Log` when `h` changes `sensor`'s state (or is its first).
    fn state_change(
        &mut self,
        sensor: &str,
        h: &SensorHealth,
        at: Option<prost_types::Timestamp>,
    ) -> Option<Log> {
        if self.states.get(sensor) == Some(&h.state) {
            return None;
        }
        self.states.insert(sensor.to_owned(), h.state);
        Some(state_log(sensor, h, at))
    }
}

/// The `Log` entry of `sensor` entering the state of `h`: ONLINE (and
/// STARTING) info, STALE warning, DISCONNECTED error (with its cause).
pub fn state_log(sensor: &str, h: &SensorHealth, at: Option<prost_types::Timestamp>) -> Log {
    let state = h.state();
    let level = match state {
        SensorState::Online | SensorState::Starting => Level::Info,
        SensorState::Stale => Level::Warning,
        SensorState::Disconnected => Level::Error,
        SensorState::Unspecified => Level::Unknown,
    };
    let name = state
        .as_str_name()
        .trim_start_matches("SENSOR_STATE_")
        .to_owned();
    let mut message = format!("{sensor}: {name}");
    if state == SensorState::Disconnected && !h.last_error.is_empty() {
        message = format!("{message} ({})", h.last_error);
    }
    Log {
        timestamp: at,
        level: level as i32,
        message,
        name: sensor.to_owned(),
        file: h.device.clone(),
        line: 0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn health(state: SensorState) -> Frame {
        Frame {
            seq: 1,
            sensor: "gps".into(),
            received_at: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 5,
            }),
            body: Some(Body::Health(SensorHealth {
                state: state as i32,
                last_error: "gone".into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn only_state_changes_become_log_entries_with_their_level() {
        let mut c = Converter::default();
        let levels: Vec<Option<(i32, String)>> = [
            SensorState::Online,
            SensorState::Online,
            SensorState::Stale,
            SensorState::Disconnected,
            SensorState::Disconnected,
        ]
        .into_iter()
        .map(|s| {
            c.convert(&health(s)).map(|m| {
                assert_eq!(m.topic, "gps/log");
                assert_eq!(m.time_ns, 10_000_000_005);
                let log = Log::decode(&m.data[..]).unwrap();
                (log.level, log.message)
            })
        })
        .collect();
        assert_eq!(
            levels,
            [
                Some((Level::Info as i32, "gps: ONLINE".into())),
                None,
                Some((Level::Warning as i32, "gps: STALE".into())),
                Some((Level::Error as i32, "gps: DISCONNECTED (gone)".into())),
                None,
            ]
        );
    }

    #[test]
    fn each_descriptor_set_decodes_its_schema() {
        for s in WellKnown::ALL {
            let pool = prost_reflect::DescriptorPool::decode(s.descriptor_set()).unwrap();
            assert!(pool.get_message_by_name(s.schema_name()).is_some(), "{s:?}");
            assert!(s.descriptor_set().len() < 8192, "{s:?} is compact");
        }
    }
}
