//! The simulated GPS receiver: turns the flight model and the sky into a
//! u-blox-like NMEA cycle and/or UBX epoch ([`GpsProtocol`]) and the
//! [`Truth`] it carries, and answers UBX set-up requests (CFG-MSG,
//! CFG-VALSET) with ACK-ACK or ACK-NAK.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix};
use dronetel_wire::nmea::encode::{self, quantize, quantize_coordinate, GstErrors, NmeaStyle};
use dronetel_wire::ubx::encode::epoch_of_fix;
use dronetel_wire::ubx::setup::{self, CFG, CFG_MSG, CFG_VALSET};
use dronetel_wire::ubx::{SYNC1, SYNC2};

use crate::fault::{Foreign, Framing};
use crate::flight::FlightModel;
use crate::rng::SplitMix64;
use crate::sky::Sky;
use crate::{GpsProtocol, Home, Truth};

/// GPS - UTC leap seconds the simulated receiver reports (since 2017).
const LEAP_SECONDS: i32 = 18;
/// Most undecoded input kept while waiting for the rest of a request.
const MAX_INPUT: usize = 4096;

/// Constellations in the order the receiver reports them.
const SYSTEMS: [Constellation; 4] = [
    Constellation::Gps,
    Constellation::Glonass,
    Constellation::Galileo,
    Constellation::Beidou,
];
/// Knots per metre per second.
const KNOTS_PER_MPS: f64 = 3600.0 / 1852.0;

/// Output format: a u-blox M9 in NMEA 4.10 mode with high-precision
/// coordinates, times with milliseconds so 25 Hz epochs stay distinct.
pub(crate) const STYLE: NmeaStyle = NmeaStyle {
    talker: *b"GN",
    latlon_decimals: 7,
    time_decimals: 3,
    altitude_decimals: 3,
    speed_decimals: 3,
    course_decimals: 2,
    dop_decimals: 2,
    error_decimals: 2,
    nmea_4_10: true,
};

impl crate::device::Source for GpsReceiver {
    type Truth = Truth;

    fn cycle(&mut self, epoch: SystemTime, out: &mut Vec<u8>) -> Truth {
        GpsReceiver::cycle(self, epoch, out)
    }

    /// Forgets the last sent cycle (the line went down: the next cycle has
    /// no predecessor to compute climb from).
    fn reset_line(&mut self) {
        self.last_sent = None;
    }

    fn mark_sent(&mut self, truth: &Truth) {
        if let Some(alt) = truth.fix.altitude_msl_m {
            self.last_sent = Some((truth.time, alt));
        }
    }

    const FRAMING: Framing = Framing {
        head: 1,
        tail: 2,
        foreign: Foreign::Mavlink,
    };

    /// A UBX frame runs over its length; a sentence from its `$` to the
    /// next sentence or frame.
    fn messages(&self, out: &[u8]) -> Vec<Range<usize>> {
        message_ranges(out)
    }

    fn input(&mut self, bytes: &[u8], reply: &mut Vec<u8>) {
        GpsReceiver::input(self, bytes, reply);
    }
}

/// Where the sentences and UBX frames of `out` are.
fn message_ranges(out: &[u8]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < out.len() {
        if out.get(i..i + 2) == Some(&[SYNC1, SYNC2][..]) {
            let len = out
                .get(i + 4..i + 6)
                .map_or(0, |l| usize::from(u16::from_le_bytes([l[0], l[1]])));
            let end = (i + 8 + len).min(out.len());
            ranges.push(i..end);
            i = end;
        } else if out[i] == b'$' {
            let end = (i + 1..out.len())
                .find(|&j| out[j] == b'$' || out[j] == SYNC1)
                .unwrap_or(out.len());
            ranges.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
    ranges
}

/// One receiver: flight, sky and the last cycle it put on the wire.
#[derive(Debug)]
pub(crate) struct GpsReceiver {
    flight: FlightModel,
    sky: Sky,
    geoid_separation_m: f64,
    start: SystemTime,
    /// Time and altitude of the last cycle actually sent (for climb).
    last_sent: Option<(SystemTime, f64)>,
    /// What it sends (a set-up request enabling NAV-PVT adds UBX).
    protocol: GpsProtocol,
    /// Input not yet complete (a request cut between reads).
    input: Vec<u8>,
}

impl GpsReceiver {
    pub(crate) fn new(
        home: Home,
        seed: u64,
        start: SystemTime,
        protocol: GpsProtocol,
    ) -> GpsReceiver {
        let mut rng = SplitMix64::new(seed);
        GpsReceiver {
            flight: FlightModel::new(home, &mut rng),
            sky: Sky::new(&mut rng),
            geoid_separation_m: home.geoid_separation_m,
            start,
            last_sent: None,
            protocol,
            input: Vec::new(),
        }
    }

    /// Answers the UBX set-up requests in `bytes`: ACK-ACK for CFG-MSG and
    /// CFG-VALSET of the messages it can send, ACK-NAK for others (and for
    /// any other CFG message). Enabling NAV-PVT makes an NMEA receiver
    /// send both protocols, as a real u-blox does.
    pub(crate) fn input(&mut self, bytes: &[u8], reply: &mut Vec<u8>) {
        self.input.extend_from_slice(bytes);
        for (class, id, payload) in setup::take_frames(&mut self.input, MAX_INPUT) {
            if class != CFG {
                continue;
            }
            let (known, enables_pvt) = match id {
                CFG_MSG => match payload.as_slice() {
                    [c, i, rate, ..] => {
                        let known = setup::MESSAGES.iter().any(|m| (m.0, m.1) == (*c, *i));
                        let pvt = setup::MESSAGES[0];
                        (known, known && (*c, *i) == (pvt.0, pvt.1) && *rate > 0)
                    }
                    _ => (false, false),
                },
                CFG_VALSET => {
                    // (key, one-byte value) items; a request of any other
                    // shape (cut short, other value sizes) is refused.
                    let items = payload.get(4..).unwrap_or_default();
                    let keys = items
                        .chunks_exact(5)
                        .map(|k| (u32::from_le_bytes([k[0], k[1], k[2], k[3]]), k[4]));
                    let known = !items.is_empty()
                        && items.len() % 5 == 0
                        && keys
                            .clone()
                            .all(|(key, _)| setup::VALSET_KEYS.contains(&key));
                    // The first two keys are NAV-PVT's (UART1, USB).
                    let pvt = keys
                        .clone()
                        .any(|(key, rate)| setup::VALSET_KEYS[..2].contains(&key) && rate > 0);
                    (known, known && pvt)
                }
                _ => (false, false),
            };
            setup::ack(reply, class, id, known);
            if enables_pvt && self.protocol == GpsProtocol::Nmea {
                self.protocol = GpsProtocol::Both;
                tracing::info!(
                    device = "gps",
                    "ubx enabled by a set-up request: sending nmea and ubx"
                );
            }
        }
    }

    /// Builds the cycle of the epoch at `now` (truncated to milliseconds,
    /// the resolution of the sentences) into `out` and returns the truth it
    /// carries.
    pub(crate) fn cycle(&self, now: SystemTime, out: &mut Vec<u8>) -> Truth {
        let nmea = self.protocol != GpsProtocol::Ubx;
        let ubx = self.protocol != GpsProtocol::Nmea;
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let time = UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64);
        let t = time
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64();
        let state = self.flight.state(t);
        let sky = self.sky.at(t);
        let used = sky.iter().filter(|s| s.used).count() as u32;

        let hdop = quantize(0.35 + 6.0 / f64::from(used.max(1)), 2);
        let vdop = quantize(hdop * 1.45, 2);
        let pdop = quantize((hdop * hdop + vdop * vdop).sqrt(), 2);
        let lat_sd = quantize(hdop * 1.1, 2);
        let lon_sd = quantize(hdop * 0.9, 2);
        let alt_sd = quantize(vdop * 1.6, 2);
        let errors = GstErrors {
            rms: Some(quantize(hdop * 8.0, 2)),
            major_m: Some(lat_sd.max(lon_sd)),
            minor_m: Some(lat_sd.min(lon_sd)),
            // The error ellipse turns slowly with the satellite geometry.
            orientation_deg: Some(quantize((t * 0.5).rem_euclid(180.0), 2)),
            lat_sd_m: Some(lat_sd),
            lon_sd_m: Some(lon_sd),
            alt_sd_m: Some(alt_sd),
        };

        let alt = quantize(state.alt_msl_m, STYLE.altitude_decimals);
        let sep = quantize(self.geoid_separation_m, STYLE.altitude_decimals);
        let knots = quantize(state.speed_mps * KNOTS_PER_MPS, STYLE.speed_decimals);
        let course = state
            .course_deg
            .map(|c| quantize(c, STYLE.course_decimals))
            .map(|c| if c >= 360.0 { 0.0 } else { c });
        let climb = self.last_sent.and_then(|(prev_time, prev_alt)| {
            let dt = time.duration_since(prev_time).ok()?.as_secs_f64();
            (dt > 0.0).then(|| (alt - prev_alt) / dt)
        });
        let mut fix = GpsFix {
            time: Some(dronetel_proto::time::timestamp(time)),
            latitude_deg: Some(quantize_coordinate(state.lat_deg, STYLE.latlon_decimals)),
            longitude_deg: Some(quantize_coordinate(state.lon_deg, STYLE.latlon_decimals)),
            altitude_msl_m: Some(alt),
            altitude_hae_m: Some(alt + sep),
            geoid_separation_m: Some(sep),
            speed_mps: Some(knots / KNOTS_PER_MPS),
            course_deg: course,
            climb_mps: climb,
            hdop: Some(hdop),
            vdop: Some(vdop),
            pdop: Some(pdop),
            horizontal_error_m: Some((lat_sd * lat_sd + lon_sd * lon_sd).sqrt()),
            vertical_error_m: Some(alt_sd),
            satellites_used: Some(used),
            satellites_visible: Some(sky.len() as u32),
            sky,
            talker: "GN".to_string(),
            cycle_end: "ZDA".to_string(),
            ..Default::default()
        };
        fix.set_mode(FixMode::FixMode3d);
        fix.set_quality(FixQuality::Gps);

        if nmea {
            encode::rmc(out, &STYLE, &fix);
            encode::vtg(out, &STYLE, &fix);
            encode::gga(out, &STYLE, &fix);
            for c in SYSTEMS {
                encode::gsa(out, &STYLE, &fix, Some(c));
            }
            for c in SYSTEMS {
                encode::gsv(out, &STYLE, &fix, c);
            }
            encode::gll(out, &STYLE, &fix);
            encode::gst(out, &STYLE, &fix, &errors);
            encode::zda(out, &STYLE, &fix);
        }
        if ubx {
            // NAV-PVT, NAV-SAT, NAV-DOP, NAV-EOE of the same fix.
            out.extend(epoch_of_fix(&fix, LEAP_SECONDS));
            fix.cycle_end = "NAV-EOE".to_string();
        }
        Truth { time, fix }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use dronetel_wire::nmea::NmeaDecoder;
    use dronetel_wire::{Reading, SensorDecoder};

    use super::*;
    use crate::device::Source;

    /// Decodes every cycle of two whole sorties (simulated clock, 5 Hz)
    /// with the daemon's decoder and compares with the truth.
    #[test]
    fn every_cycle_of_a_sortie_decodes_to_its_truth() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut rx = GpsReceiver::new(Home::default(), 5, start, GpsProtocol::Nmea);
        let cycles = (2.0 * rx.flight.sortie_s() * 5.0) as u64;
        let mut decoder = NmeaDecoder::default();
        let mut buf = BytesMut::new();
        let mut truths = Vec::new();
        let mut fixes = Vec::new();
        for k in 0..cycles {
            let mut out = Vec::new();
            let truth = rx.cycle(start + Duration::from_millis(200 * k), &mut out);
            rx.mark_sent(&truth);
            truths.push(truth);
            buf.extend_from_slice(&out);
            let mut readings = Vec::new();
            decoder.decode_all(&mut buf, &mut readings);
            fixes.extend(readings);
        }
        fixes.extend(decoder.flush_idle());
        assert_eq!(fixes.len(), truths.len());
        let (mut moving, mut climbing) = (0, 0);
        for (got, truth) in fixes.iter().zip(&truths) {
            let Reading::Gps(got) = got else {
                panic!("not a fix: {got:?}")
            };
            let want = &truth.fix;
            assert_eq!(got.time, want.time);
            let near = |a: Option<f64>, b: Option<f64>, tol: f64| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() <= tol,
                (a, b) => a == b,
            };
            assert!(near(got.latitude_deg, want.latitude_deg, 1e-9));
            assert!(near(got.longitude_deg, want.longitude_deg, 1e-9));
            assert!(near(got.altitude_msl_m, want.altitude_msl_m, 1e-6));
            assert!(near(got.speed_mps, want.speed_mps, 1e-3), "{got:?}");
            assert!(near(got.course_deg, want.course_deg, 1e-6), "{got:?}");
            assert!(near(got.climb_mps, want.climb_mps, 1e-4), "{got:?}");
            moving += usize::from(want.speed_mps > Some(1.0));
            climbing += usize::from(want.climb_mps.is_some_and(|c| c.abs() > 1.0));
        }
        // The sortie really flew: a circuit and vertical legs.
        assert!(moving > cycles as usize / 3, "{moving} moving");
        assert!(climbing > 50, "{climbing} climbing");
        assert_eq!(
            decoder.stats().checksum_errors + decoder.stats().framing_errors,
            0
        );
    }
    /// A CFG-VALSET whose items are not whole (key, one-byte value) pairs,
    /// as a request cut short or with wider values would be, is refused
    /// with ACK-NAK; the receiver does not fail on it.
    #[test]
    fn a_valset_of_odd_length_is_refused() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut rx = GpsReceiver::new(Home::default(), 5, start, GpsProtocol::Nmea);
        let mut request = Vec::new();
        let written = dronetel_wire::ubx::encode::write_frame(&mut request, CFG, CFG_VALSET, |o| {
            o.extend_from_slice(&[0, setup::LAYER_RAM, 0, 0]);
            o.extend_from_slice(&0x2091_0007u32.to_le_bytes());
            o.extend_from_slice(&[1, 0x16]);
        });
        assert!(written.is_ok());
        let mut reply = Vec::new();
        rx.input(&request, &mut reply);
        let mut nak = Vec::new();
        setup::ack(&mut nak, CFG, CFG_VALSET, false);
        assert_eq!(reply, nak);
        assert_eq!(rx.protocol, GpsProtocol::Nmea);
    }
}
