//! [`TrackerDecoder`]: tracker frames → [`Reading::Tracking`], behind the
//! tokio-util [`Decoder`] contract.

use std::time::SystemTime;

use bytes::{Buf, BytesMut};
use dronetel_proto::tracker::{TrackerObject, TrackerReport};
use dronetel_proto::v1::{TrackedObject, TrackingUpdate};
use prost::Message;
use tokio_util::codec::Decoder;
use tracing::debug;

use super::clock::SensorClock;
use super::frame::{Framer, Pushed, CRC32};
use crate::{Reading, SensorDecoder, Stats};

/// Where the decoder gets the host time of a reception.
pub type HostClock = Box<dyn FnMut() -> SystemTime + Send>;

/// Decodes the tracker byte stream. Counters ([`Stats`]):
/// - `framing_errors`: over-long frames and COBS errors (bad code bytes,
///   frames shorter than a CRC);
/// - `checksum_errors`: frames whose CRC-32 does not match;
/// - `decode_errors`: frames with a good CRC that are not a `TrackerReport`;
/// - `dropped_frames`: frame-counter gaps (frames the sensor numbered but
///   the daemon never received).
pub struct TrackerDecoder {
    framer: Framer,
    clock: SensorClock,
    now: HostClock,
    last_frame: Option<u32>,
    stats: Stats,
}

impl std::fmt::Debug for TrackerDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerDecoder")
            .field("stats", &self.stats)
            .field("last_frame", &self.last_frame)
            .finish_non_exhaustive()
    }
}

impl Default for TrackerDecoder {
    /// Host times from the system clock.
    fn default() -> Self {
        Self::with_clock(Box::new(SystemTime::now))
    }
}

impl TrackerDecoder {
    /// A decoder taking reception times from `now` (tests pass a fake clock).
    pub fn with_clock(now: HostClock) -> Self {
        Self {
            framer: Framer::default(),
            clock: SensorClock::new(),
            now,
            last_frame: None,
            stats: Stats::default(),
        }
    }

    /// One delimited frame (COBS bytes without the 0x00).
    fn frame(&mut self, cobs: &[u8]) -> Option<Reading> {
        let raw = match cobs::decode_vec(cobs) {
            Ok(r) if r.len() >= 4 => r,
            Ok(_) | Err(_) => {
                self.stats.framing_errors += 1;
                debug!(
                    len = cobs.len(),
                    "tracker frame not valid COBS or too short; skipped"
                );
                return None;
            }
        };
        let (body, crc) = raw.split_last_chunk::<4>()?;
        let crc = u32::from_le_bytes(*crc);
        if CRC32.checksum(body) != crc {
            self.stats.checksum_errors += 1;
            return None;
        }
        let report = match TrackerReport::decode(body) {
            Ok(r) => r,
            Err(e) => {
                self.stats.decode_errors += 1;
                debug!(error = %e, "tracker report does not decode; skipped");
                return None;
            }
        };
        self.stats.messages_ok += 1;
        let mapping = self.clock.observe(report.timestamp_us, (self.now)());
        if mapping.restarted {
            tracing::info!(
                restarts = self.clock.restarts(),
                "tracker clock restarted (sensor reboot)"
            );
        } else if let Some(prev) = self.last_frame {
            let gap = report.frame.wrapping_sub(prev).wrapping_sub(1);
            // A counter going backwards (reordering, restart) is no loss.
            if gap < u32::MAX / 2 {
                self.stats.dropped_frames += u64::from(gap);
            }
        }
        self.last_frame = Some(report.frame);
        Some(Reading::Tracking(TrackingUpdate {
            sensor_frame: u64::from(report.frame),
            objects: report.objects.iter().map(object).collect(),
            sensor_time_us: report.timestamp_us,
            dropped_frames: self.stats.dropped_frames,
            latency: Some(dronetel_proto::time::duration(mapping.latency)),
            captured_at: Some(dronetel_proto::time::timestamp(mapping.captured_at)),
            sensor_reboots: self.clock.restarts(),
        }))
    }
}

/// A wire object as a stream object (f32 → f64 is exact).
pub fn object(o: &TrackerObject) -> TrackedObject {
    let v = o.velocity.as_ref();
    TrackedObject {
        track_id: o.track_id,
        label: o.label.clone(),
        confidence: f64::from(o.confidence),
        bbox_x: f64::from(o.x),
        bbox_y: f64::from(o.y),
        bbox_w: f64::from(o.w),
        bbox_h: f64::from(o.h),
        range_m: o.range_m.map(f64::from),
        bearing_deg: o.bearing_deg.map(f64::from),
        elevation_deg: o.elevation_deg.map(f64::from),
        velocity_x_mps: v.map(|v| f64::from(v.x)),
        velocity_y_mps: v.map(|v| f64::from(v.y)),
        velocity_z_mps: v.map(|v| f64::from(v.z)),
    }
}

impl Decoder for TrackerDecoder {
    type Item = Reading;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reading>, std::io::Error> {
        while !src.is_empty() {
            let mut used = src.len();
            let mut closed = None;
            for (i, &b) in src.iter().enumerate() {
                match self.framer.push(b) {
                    Pushed::More => {}
                    Pushed::Frame => {
                        closed = Some(true);
                        used = i + 1;
                        break;
                    }
                    Pushed::Overlong => {
                        closed = Some(false);
                        used = i + 1;
                        break;
                    }
                }
            }
            src.advance(used);
            self.stats.bytes += used as u64;
            match closed {
                Some(true) => {
                    let cobs = self.framer.take();
                    if let Some(r) = self.frame(&cobs) {
                        return Ok(Some(r));
                    }
                }
                Some(false) => {
                    self.stats.framing_errors += 1;
                    debug!("tracker frame over-long; skipped");
                }
                None => {}
            }
        }
        Ok(None)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Reading>, std::io::Error> {
        if let Some(r) = self.decode(src)? {
            return Ok(Some(r));
        }
        if self.framer.pending() {
            self.framer.reset();
            self.stats.framing_errors += 1;
        }
        Ok(None)
    }
}

impl SensorDecoder for TrackerDecoder {
    fn stats(&self) -> Stats {
        self.stats
    }

    fn on_open(&mut self) {
        // A partial frame of the previous connection is lost, not joined to
        // the first bytes of the new one.
        if self.framer.pending() {
            self.framer.reset();
            self.stats.framing_errors += 1;
        }
    }
}
