//! Flood mode: the simulated devices' output generated on a simulated clock
//! as fast as the CPU allows, with no pacing and no dropping, for
//! benchmarks. A [`Recording`] is the exact byte stream a device would
//! have sent over that stretch of simulated time, cut into cycles; a
//! [`FloodLink`] writes it onto a pty at whatever speed the reader takes.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::device::Source;
use crate::pty::Pty;
use crate::{fc, gps, tracker, Home, SimError};

/// Which simulated device a recording comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodDevice {
    /// The GPS receiver (NMEA), at [`FloodOptions::gps_rate_hz`].
    Gps,
    /// The flight controller (MAVLink, 10 ticks per second).
    Fc,
    /// The object tracker (COBS/CRC frames, 30 per second).
    Tracker,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodOptions {
    /// Seed of the flight and the sky.
    pub seed: u64,
    /// Simulated GPS cycles per simulated second.
    pub gps_rate_hz: f64,
    /// Simulated time of the first cycle (whole milliseconds).
    pub start: SystemTime,
    /// Where the vehicle takes off.
    pub home: Home,
}

impl Default for FloodOptions {
    /// Seed 1, 10 Hz GPS, starting at 2027-01-15 08:00:00 UTC.
    fn default() -> Self {
        FloodOptions {
            seed: 1,
            gps_rate_hz: 10.0,
            start: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            home: Home::default(),
        }
    }
}

/// One device cycle inside a [`Recording`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// Offset just past the cycle's last byte in [`Recording::bytes`].
    pub end: usize,
    /// The cycle's simulated time (whole milliseconds: the value a decoder
    /// reads back from a GPS cycle).
    pub time: SystemTime,
    /// Messages (sentences, frames) in the cycle.
    pub messages: u32,
}

/// A device's output over consecutive simulated cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// Every byte, cycles back to back.
    pub bytes: Vec<u8>,
    /// The cycles, in order.
    pub cycles: Vec<Cycle>,
}

impl Recording {
    /// Messages over all cycles.
    pub fn messages(&self) -> u64 {
        self.cycles.iter().map(|c| u64::from(c.messages)).sum()
    }

    /// Bytes of cycle `i`.
    pub fn cycle_bytes(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |p| self.cycles[p].end);
        &self.bytes[start..self.cycles[i].end]
    }
}

/// Generates cycles of `device` until at least `min_messages` messages are
/// recorded. Deterministic: the same options give the same bytes.
pub fn record(device: FloodDevice, opts: &FloodOptions, min_messages: u64) -> Recording {
    let (home, seed, start) = (opts.home, opts.seed, opts.start);
    match device {
        FloodDevice::Gps => {
            let period = Duration::from_secs_f64(1.0 / opts.gps_rate_hz.clamp(0.1, 1000.0));
            let rx = gps::GpsReceiver::new(home, seed, start, crate::GpsProtocol::Nmea);
            record_source(rx, start, period, min_messages)
        }
        FloodDevice::Fc => {
            let fc = fc::FlightController::new(home, seed, start);
            record_source(fc, start, fc::PERIOD, min_messages)
        }
        FloodDevice::Tracker => {
            let period = Duration::from_secs_f64(1.0 / tracker::RATE_HZ);
            let camera = tracker::Tracker::new(home, seed, start);
            record_source(camera, start, period, min_messages)
        }
    }
}

fn record_source<S: Source>(
    mut source: S,
    start: SystemTime,
    period: Duration,
    min_messages: u64,
) -> Recording {
    let mut rec = Recording::default();
    let mut cycle = Vec::with_capacity(4096);
    let mut total = 0u64;
    let mut k = 0u32;
    while total < min_messages {
        let epoch = start + period * k;
        k += 1;
        cycle.clear();
        let truth = source.cycle(epoch, &mut cycle);
        source.mark_sent(&truth);
        let messages = source.messages(&cycle).len() as u64;
        if messages == 0 {
            continue;
        }
        total += messages;
        rec.bytes.extend_from_slice(&cycle);
        let millis = epoch
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        rec.cycles.push(Cycle {
            end: rec.bytes.len(),
            time: UNIX_EPOCH + Duration::from_millis(millis as u64),
            messages: u32::try_from(messages).unwrap_or(u32::MAX),
        });
    }
    rec
}

/// A pty for flood output: the slave is linked at the given path for the
/// reader to open; every byte written reaches it (writes wait for room).
#[derive(Debug)]
pub struct FloodLink {
    pty: Pty,
    link: PathBuf,
}

impl FloodLink {
    /// Opens a raw pty and links its slave at `link`.
    pub fn open(link: &Path) -> Result<FloodLink, SimError> {
        Ok(FloodLink {
            pty: Pty::open(link)?,
            link: link.to_path_buf(),
        })
    }

    /// The link naming the pty slave.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Writes all of `buf`, waiting while the pty buffer is full.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.pty.write_all(buf).await
    }

    /// Waits for and discards what the reader wrote to the device; returns
    /// the bytes read.
    pub async fn drain(&self) -> io::Result<usize> {
        let mut buf = [0u8; 512];
        self.pty.read(&mut buf).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use bytes::BytesMut;
    use dronetel_wire::nmea::NmeaDecoder;
    use dronetel_wire::{Reading, SensorDecoder};

    use super::*;

    #[test]
    fn a_gps_recording_decodes_to_one_fix_per_cycle_at_the_cycle_times() {
        let opts = FloodOptions::default();
        let rec = record(FloodDevice::Gps, &opts, 2_000);
        assert!(rec.messages() >= 2_000);
        assert_eq!(rec.cycles.last().unwrap().end, rec.bytes.len());
        let sentences = rec.bytes.iter().filter(|&&b| b == b'$').count() as u64;
        assert_eq!(sentences, rec.messages());
        let mut dec = NmeaDecoder::default();
        let mut buf = BytesMut::from(&rec.bytes[..]);
        let mut out = Vec::new();
        dec.decode_all(&mut buf, &mut out);
        out.extend(dec.flush_idle());
        let times: Vec<_> = out
            .into_iter()
            .map(|r| match r {
                Reading::Gps(f) => f.time.unwrap(),
                other => panic!("not a fix: {other:?}"),
            })
            .collect();
        let want: Vec<_> = rec
            .cycles
            .iter()
            .map(|c| dronetel_proto::time::timestamp(c.time))
            .collect();
        assert_eq!(times, want);
        // 10 Hz: consecutive cycles 100 ms apart.
        let gap = rec.cycles[1].time.duration_since(rec.cycles[0].time);
        assert_eq!(gap.unwrap(), Duration::from_millis(100));
        assert_eq!(dec.stats().messages_ok, rec.messages());
    }

    #[test]
    fn fc_and_tracker_recordings_hold_the_requested_messages() {
        let opts = FloodOptions::default();
        for device in [FloodDevice::Fc, FloodDevice::Tracker] {
            let a = record(device, &opts, 500);
            assert!(a.messages() >= 500, "{device:?}");
            assert_eq!(a, record(device, &opts, 500), "{device:?} deterministic");
            let joined: Vec<u8> = (0..a.cycles.len())
                .flat_map(|i| a.cycle_bytes(i).to_vec())
                .collect();
            assert_eq!(joined, a.bytes);
        }
    }
}
