//! The simulated object tracker: a camera under the drone looking forward
//! and down, objects on the ground around home (some moving), and the
//! `TrackerReport` frames a detector would send at 30 Hz.
//!
//! An object is tracked while it is inside the camera's field of view and
//! within range; it gets a new track id each time it enters the view, so
//! objects appear, move and leave as the drone flies the circuit.

use std::f64::consts::TAU;
use std::ops::Range;
use std::time::SystemTime;

use dronetel_proto::tracker::{TrackerObject, TrackerReport, Velocity};

use crate::fault::{Foreign, Framing};
use crate::flight::{FlightModel, State};
use crate::rng::SplitMix64;
use crate::Home;

/// Frames per second.
pub(crate) const RATE_HZ: f64 = 30.0;
/// Objects on the ground.
const OBJECTS: usize = 64;
/// Camera pitch below the horizon, degrees.
const PITCH_DOWN_DEG: f64 = 25.0;
/// Half field of view, horizontal and vertical, degrees.
const HALF_HFOV_DEG: f64 = 45.0;
const HALF_VFOV_DEG: f64 = 30.0;
/// Farthest detection, metres.
const MAX_RANGE_M: f64 = 400.0;
/// The sensor's clock runs slow by this much (parts per million).
const CLOCK_DRIFT_PPM: f64 = 40.0;
/// Metres per degree of latitude (flat Earth near home).
const M_PER_DEG: f64 = 6_371_008.8 * TAU / 360.0;

/// What one tracker frame carried.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerTruth {
    /// Host (UTC) time of the frame's tick.
    pub time: SystemTime,
    /// The report as sent.
    pub report: TrackerReport,
}

#[derive(Debug, Clone)]
struct Object {
    label: &'static str,
    north_m: f64,
    east_m: f64,
    /// Ground velocity (north, east), m/s; zero for parked things.
    v_north: f64,
    v_east: f64,
    /// Track id while in view.
    track: Option<u32>,
}

/// The simulated vision module.
#[derive(Debug)]
pub(crate) struct Tracker {
    flight: FlightModel,
    home: Home,
    objects: Vec<Object>,
    start: SystemTime,
    frame: u32,
    next_track: u32,
}

impl Tracker {
    /// Same `home`, `seed` and `start` as the GPS receiver: same flight.
    pub(crate) fn new(home: Home, seed: u64, start: SystemTime) -> Self {
        let flight = FlightModel::new(home, &mut SplitMix64::new(seed));
        let mut rng = SplitMix64::new(seed ^ 0x7ac4);
        let objects = (0..OBJECTS)
            .map(|i| {
                let (label, speed) = match i % 4 {
                    0 => ("car", rng.range(3.0, 12.0)),
                    1 => ("person", rng.range(0.5, 1.6)),
                    2 => ("bicycle", rng.range(2.0, 6.0)),
                    _ => ("car", 0.0),
                };
                let heading = rng.range(0.0, TAU);
                let (r, a) = (rng.range(20.0, 450.0), rng.range(0.0, TAU));
                Object {
                    label,
                    north_m: r * a.cos(),
                    east_m: r * a.sin(),
                    v_north: speed * heading.cos(),
                    v_east: speed * heading.sin(),
                    track: None,
                }
            })
            .collect();
        Self {
            flight,
            home,
            objects,
            start,
            frame: 0,
            next_track: 1,
        }
    }

    /// Position of the drone relative to home, metres north and east.
    fn drone_ne(&self, s: &State) -> (f64, f64) {
        let north = (s.lat_deg - self.home.lat_deg) * M_PER_DEG;
        let east =
            (s.lon_deg - self.home.lon_deg) * M_PER_DEG * self.home.lat_deg.to_radians().cos();
        (north, east)
    }

    /// Where object `o` (at `n`, `e` from home, on the ground) appears.
    fn observe(
        s: &State,
        drone: (f64, f64),
        heading: f64,
        n: f64,
        e: f64,
    ) -> Option<(f64, f64, f64)> {
        let (dn, de, down) = (n - drone.0, e - drone.1, s.agl_m.max(1.0));
        // Body frame: forward along the heading, right, down.
        let (sin_h, cos_h) = heading.sin_cos();
        let fwd = dn * cos_h + de * sin_h;
        let right = -dn * sin_h + de * cos_h;
        let range = (fwd * fwd + right * right + down * down).sqrt();
        if range > MAX_RANGE_M {
            return None;
        }
        let bearing = right.atan2(fwd).to_degrees();
        let elevation = -(down.atan2(fwd.hypot(right))).to_degrees();
        // Angles in the image: elevation relative to the pitched-down axis.
        let up = elevation + PITCH_DOWN_DEG;
        (bearing.abs() <= HALF_HFOV_DEG && up.abs() <= HALF_VFOV_DEG)
            .then_some((range, bearing, up))
    }
}

impl crate::device::Source for Tracker {
    type Truth = TrackerTruth;

    fn cycle(&mut self, epoch: SystemTime, out: &mut Vec<u8>) -> TrackerTruth {
        let t = epoch
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64();
        let state = self.flight.state(t);
        let drone = self.drone_ne(&state);
        let heading = state.course_deg.unwrap_or(0.0).to_radians();
        let mut objects = Vec::new();
        for o in &mut self.objects {
            // Moving objects drive back and forth along their line.
            let phase = (t / 60.0 * TAU).sin() * 60.0;
            let (n, e) = (
                o.north_m + o.v_north * phase / 6.0,
                o.east_m + o.v_east * phase / 6.0,
            );
            match Tracker::observe(&state, drone, heading, n, e) {
                Some((range, bearing, up)) => {
                    let id = *o.track.get_or_insert_with(|| {
                        self.next_track += 1;
                        self.next_track - 1
                    });
                    let size = (8.0 / range).clamp(0.005, 0.4);
                    let cx = 0.5 + bearing / (2.0 * HALF_HFOV_DEG);
                    let cy = 0.5 - up / (2.0 * HALF_VFOV_DEG);
                    let moving = o.v_north != 0.0 || o.v_east != 0.0;
                    objects.push(TrackerObject {
                        track_id: id,
                        label: o.label.to_owned(),
                        confidence: (0.98 - range / MAX_RANGE_M * 0.5) as f32,
                        x: (cx - size / 2.0).clamp(0.0, 1.0) as f32,
                        y: (cy - size / 2.0).clamp(0.0, 1.0) as f32,
                        w: size as f32,
                        h: size as f32,
                        range_m: (range < 120.0).then_some(range as f32),
                        bearing_deg: Some(bearing as f32),
                        elevation_deg: Some(up as f32),
                        velocity: moving.then(|| Velocity {
                            x: (o.v_east * heading.cos() - o.v_north * heading.sin()) as f32,
                            y: 0.0,
                            z: (o.v_north * heading.cos() + o.v_east * heading.sin()) as f32,
                        }),
                    });
                }
                None => o.track = None,
            }
        }
        let report = TrackerReport {
            frame: self.frame,
            // The sensor booted 3 s before the simulation; its clock drifts.
            timestamp_us: ((t + 3.0) * 1e6 * (1.0 - CLOCK_DRIFT_PPM / 1e6)) as u64,
            objects,
        };
        self.frame = self.frame.wrapping_add(1);
        if let Err(e) = dronetel_wire::tracker::encode(&report, out) {
            tracing::warn!(error = %e, "tracker report too large; not sent");
        }
        TrackerTruth {
            time: epoch,
            report,
        }
    }

    const FRAMING: Framing = Framing {
        head: 0,
        tail: 1,
        foreign: Foreign::Nmea,
    };

    /// A frame runs up to and including its `0x00` delimiter.
    fn messages(&self, out: &[u8]) -> Vec<Range<usize>> {
        let mut start = 0;
        let mut frames = Vec::new();
        for (i, _) in out.iter().enumerate().filter(|(_, &b)| b == 0) {
            frames.push(start..i + 1);
            start = i + 1;
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::device::Source;

    #[test]
    fn objects_appear_move_and_leave_as_the_drone_flies() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut tr = Tracker::new(Home::default(), 1, start);
        let frames = (tr.flight.sortie_s() * RATE_HZ) as u64;
        let mut seen = std::collections::BTreeSet::new();
        let mut max_in_view = 0;
        let mut last_ts = 0;
        let mut empty = 0;
        for k in 0..frames {
            let mut out = Vec::new();
            let truth = tr.cycle(start + Duration::from_micros(k * 33_333), &mut out);
            assert_eq!(truth.report.frame as u64, k);
            assert!(truth.report.timestamp_us > last_ts || k == 0);
            last_ts = truth.report.timestamp_us;
            max_in_view = max_in_view.max(truth.report.objects.len());
            empty += u64::from(truth.report.objects.is_empty());
            for o in &truth.report.objects {
                assert!((0.0..=1.0).contains(&o.x) && (0.0..=1.0).contains(&o.confidence));
                seen.insert(o.track_id);
            }
        }
        // Tracks came and went: more distinct tracks than ever in view at once.
        assert!(max_in_view >= 1, "nothing ever seen");
        assert!(
            empty * 10 < frames,
            "{empty} of {frames} frames without objects"
        );
        assert!(
            seen.len() > max_in_view,
            "{} tracks, {max_in_view} at most at once",
            seen.len()
        );
    }
}
