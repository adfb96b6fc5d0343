//! Per-consumer rate control shared by every sink and stream client: a
//! sensor/kind filter and a maximum rate per kind (decimation, latest value
//! wins). A value held back by the rate limit is sent by a timer when its
//! slot opens, so the last value of a burst is never stuck.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use dronetel_proto::v1::{frame::Body, Frame, FrameKind, Subscribe};
use tokio::time::Instant;

use crate::bus::{BusReceiver, Published, Received};

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

    /// The interval for a rate in Hz, if the rate is usable.
    pub fn interval_for(hz: f64) -> Option<Duration> {
        (hz.is_finite() && hz > 0.0 && hz <= Self::MAX_HZ)
            .then(|| Duration::from_secs_f64(1.0 / hz))
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

    /// True when `frame` passes the sensor and kind filter.
    pub fn wants(&self, frame: &Frame) -> bool {
        (self.sensors.is_empty() || self.sensors.contains(&frame.sensor))
            && (self.kinds.is_empty() || Kind::of(frame).is_some_and(|k| self.kinds.contains(&k)))
    }

    /// True when it passes every frame at full rate.
    pub fn is_everything(&self) -> bool {
        self.sensors.is_empty() && self.kinds.is_empty() && self.min_interval.is_empty()
    }
}

/// One (sensor, kind) slot of the decimator.
#[derive(Debug)]
struct Slot {
    interval: Duration,
    /// Earliest time the next frame may go out.
    next: Instant,
    /// Latest frame held back, sent when `next` comes.
    held: Option<Published>,
}

/// Counters of one rate-controlled consumer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateStats {
    /// Frames not wanted by the filter.
    pub filtered: u64,
    /// Frames replaced by a newer one before their slot opened.
    pub decimated: u64,
}

/// A bus receiver seen through a [`Selection`]: yields only selected frames,
/// at most one per slot interval per sensor and kind, the latest winning.
#[derive(Debug)]
pub struct RateControlled {
    rx: BusReceiver,
    sel: Selection,
    slots: HashMap<(String, Kind), Slot>,
    stats: RateStats,
}

impl RateControlled {
    /// Wraps `rx` with `sel`.
    pub fn new(rx: BusReceiver, sel: Selection) -> Self {
        Self {
            rx,
            sel,
            slots: HashMap::new(),
            stats: RateStats::default(),
        }
    }

    /// Frames lost on the bus because this consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.rx.dropped()
    }

    /// Filter and decimation counters.
    pub fn stats(&self) -> RateStats {
        self.stats
    }

    /// The next frame to deliver. At bus close, frames still held are
    /// delivered first, then [`Received::Closed`].
    pub async fn recv(&mut self) -> Received {
        loop {
            if let Some(p) = self.due(Instant::now()) {
                return Received::Frame(p);
            }
            let wake = self.next_wake();
            let got = match wake {
                Some(at) => tokio::select! {
                    biased;
                    _ = tokio::time::sleep_until(at) => continue,
                    r = self.rx.recv() => r,
                },
                None => self.rx.recv().await,
            };
            match got {
                Received::Frame(p) => {
                    if let Some(p) = self.admit(p, Instant::now()) {
                        return Received::Frame(p);
                    }
                }
                Received::Closed => {
                    return match self.take_any_held() {
                        Some(p) => Received::Frame(p),
                        None => Received::Closed,
                    }
                }
            }
        }
    }

    /// A frame ready now, without waiting.
    pub fn try_recv(&mut self) -> Option<Published> {
        let now = Instant::now();
        if let Some(p) = self.due(now) {
            return Some(p);
        }
        while let Some(p) = self.rx.try_recv() {
            if let Some(p) = self.admit(p, now) {
                return Some(p);
            }
        }
        None
    }

    /// Filters and decimates one bus frame: `Some` when it goes out now.
    fn admit(&mut self, p: Published, now: Instant) -> Option<Published> {
        if !self.sel.wants(&p.frame) {
            self.stats.filtered += 1;
            return None;
        }
        let Some(kind) = Kind::of(&p.frame) else {
            return Some(p);
        };
        let Some(&interval) = self.sel.min_interval.get(&kind) else {
            return Some(p);
        };
        let key = (p.frame.sensor.clone(), kind);
        let slot = self.slots.entry(key).or_insert(Slot {
            interval,
            next: now,
            held: None,
        });
        if now >= slot.next && slot.held.is_none() {
            slot.next = now + slot.interval;
            Some(p)
        } else {
            if slot.held.replace(p).is_some() {
                self.stats.decimated += 1;
            }
            None
        }
    }

    /// A held frame whose slot is open at `now`.
    fn due(&mut self, now: Instant) -> Option<Published> {
        let slot = self
            .slots
            .values_mut()
            .filter(|s| s.held.is_some() && s.next <= now)
            .min_by_key(|s| s.next)?;
        slot.next = now + slot.interval;
        slot.held.take()
    }

    fn next_wake(&self) -> Option<Instant> {
        self.slots
            .values()
            .filter(|s| s.held.is_some())
            .map(|s| s.next)
            .min()
    }

    fn take_any_held(&mut self) -> Option<Published> {
        let slot = self
            .slots
            .values_mut()
            .filter(|s| s.held.is_some())
            .min_by_key(|s| s.next)?;
        slot.held.take()
    }
}

impl From<BusReceiver> for RateControlled {
    /// Everything at full rate.
    fn from(rx: BusReceiver) -> Self {
        RateControlled::new(rx, Selection::default())
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
