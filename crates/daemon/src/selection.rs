//! What a consumer of the bus wants: the kinds of frames, and a
//! [`Selection`] of sensors, kinds and per-kind maximum rates. Neutral
//! ground: the configuration, the stream's `Subscribe` and every sink read
//! these types, and this module depends on nothing but the protocol.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use dronetel_proto::v1::{frame::Body, Frame, FrameKind, Subscribe};

/// The kind of a frame's body, as filters and topics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `GpsFix`.
    Gps,
    /// `BatteryState`.
    Battery,
    /// `TrackingUpdate`.
    Tracking,
    /// `SensorHealth`.
    Health,
    /// `VehicleStatus`.
    Vehicle,
}

impl Kind {
    /// Every kind, in wire order.
    pub const ALL: [Kind; 5] = [
        Kind::Gps,
        Kind::Battery,
        Kind::Tracking,
        Kind::Health,
        Kind::Vehicle,
    ];

    /// The kind of `frame`, `None` for a frame without a body.
    pub fn of(frame: &Frame) -> Option<Kind> {
        Some(match frame.body.as_ref()? {
            Body::Gps(_) => Kind::Gps,
            Body::Battery(_) => Kind::Battery,
            Body::Tracking(_) => Kind::Tracking,
            Body::Health(_) => Kind::Health,
            Body::Vehicle(_) => Kind::Vehicle,
        })
    }

    /// The name used in topics, channels and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gps => "gps",
            Kind::Battery => "battery",
            Kind::Tracking => "tracking",
            Kind::Health => "health",
            Kind::Vehicle => "vehicle",
        }
    }

    fn from_wire(k: FrameKind) -> Option<Kind> {
        match k {
            FrameKind::Gps => Some(Kind::Gps),
            FrameKind::Battery => Some(Kind::Battery),
            FrameKind::Tracking => Some(Kind::Tracking),
            FrameKind::Health => Some(Kind::Health),
            FrameKind::Vehicle => Some(Kind::Vehicle),
            FrameKind::Unspecified => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one consumer wants: which sensors and kinds, and at most how often
/// per kind. The default selects everything at full rate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Sensors to pass; empty: all.
    pub sensors: BTreeSet<String>,
    /// Kinds to pass; empty: all.
    pub kinds: BTreeSet<Kind>,
    /// Shortest interval between two frames of one sensor and kind.
    pub min_interval: HashMap<Kind, Duration>,
}

/// Why a `Subscribe` message was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SelectionError {
    /// A rate was zero, negative or not a number.
    #[error("max_hz for {kind} must be a positive number, got {hz}")]
    BadRate {
        /// Kind the rate was given for.
        kind: String,
        /// The rate given.
        hz: f64,
    },
    /// A kind was left unspecified.
    #[error("kind must be specified")]
    UnspecifiedKind,
}

impl Selection {
    /// Highest rate accepted; above it decimation is pointless.
    pub const MAX_HZ: f64 = 1000.0;
    /// Longest interval a rate may ask for (one frame a day): slower rates
    /// are refused, so deadline arithmetic never overflows.
    pub const LONGEST_INTERVAL: Duration = Duration::from_secs(86_400);

    /// The interval for a rate in Hz, if the rate is usable.
    pub fn interval_for(hz: f64) -> Option<Duration> {
        if !(hz.is_finite() && hz > 0.0 && hz <= Self::MAX_HZ) {
            return None;
        }
        // Total: a tiny rate gives an interval no `Duration` holds (1e-300
        // Hz); anything slower than once a day is refused with it.
        Duration::try_from_secs_f64(1.0 / hz)
            .ok()
            .filter(|iv| *iv <= Self::LONGEST_INTERVAL)
    }

    /// The selection a stream client asked for with `Subscribe`.
    pub fn from_subscribe(s: &Subscribe) -> Result<Selection, SelectionError> {
        let mut sel = Selection {
            sensors: s.sensors.iter().cloned().collect(),
            ..Default::default()
        };
        for k in &s.kinds {
            let k = FrameKind::try_from(*k).unwrap_or(FrameKind::Unspecified);
            sel.kinds
                .insert(Kind::from_wire(k).ok_or(SelectionError::UnspecifiedKind)?);
        }
        for r in &s.max_rate {
            let k = FrameKind::try_from(r.kind).unwrap_or(FrameKind::Unspecified);
            let kind = Kind::from_wire(k).ok_or(SelectionError::UnspecifiedKind)?;
            let iv = Self::interval_for(r.max_hz).ok_or(SelectionError::BadRate {
                kind: kind.to_string(),
                hz: r.max_hz,
            })?;
            sel.min_interval.insert(kind, iv);
        }
        Ok(sel)
    }

    /// True when `sensor` passes the sensor filter.
    pub fn wants_sensor(&self, sensor: &str) -> bool {
        self.sensors.is_empty() || self.sensors.contains(sensor)
    }

    /// True when `frame` passes the sensor and kind filter.
    pub fn wants(&self, frame: &Frame) -> bool {
        self.wants_sensor(&frame.sensor)
            && (self.kinds.is_empty() || Kind::of(frame).is_some_and(|k| self.kinds.contains(&k)))
    }

    /// True when it passes every frame at full rate.
    pub fn is_everything(&self) -> bool {
        self.sensors.is_empty() && self.kinds.is_empty() && self.min_interval.is_empty()
    }
}
