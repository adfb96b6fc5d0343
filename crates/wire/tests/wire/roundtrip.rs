//! Property tests: decode(encode(x)) == x for the NMEA encoder (RMC + GGA +
//! ZDA cycles of arbitrary fixes, also sent with week-rollover dates) and MAVLink (GLOBAL_POSITION_INT and
//! SYS_STATUS frames, v1/v2 mixed), at arbitrary chunk sizes; arbitrary
//! bytes never make the NMEA decoder panic. (The tracker's round trip and
//! the MAVLink and tracker arbitrary-bytes properties live beside those
//! decoders.)
#![allow(clippy::unwrap_used)]

use bytes::BytesMut;
use dronetel_proto::v1::{FixMode, FixQuality, GpsFix};
use dronetel_wire::mavlink::common::{MavMessage, GLOBAL_POSITION_INT_DATA};
use dronetel_wire::mavlink::{encode as mav, MavlinkDecoder, MavlinkOptions};
use dronetel_wire::nmea::encode::{self, quantize, quantize_coordinate, NmeaStyle};
use dronetel_wire::nmea::{NmeaDecoder, TimeEvidence, TimeSource};
use dronetel_wire::{Reading, SensorDecoder};
use mavlink::{MavHeader, MavlinkVersion};
use proptest::prelude::*;

const KNOTS_PER_MPS: f64 = 3600.0 / 1852.0;

fn style() -> NmeaStyle {
    NmeaStyle {
        time_decimals: 3,
        ..NmeaStyle::default()
    }
}

fn decode_all<D: SensorDecoder>(d: &mut D, bytes: &[u8], chunk: usize) -> Vec<Reading> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in bytes.chunks(chunk) {
        buf.extend_from_slice(c);
        while let Some(r) = d.decode(&mut buf).unwrap() {
            out.push(r);
        }
        assert!(buf.is_empty(), "every byte taken");
    }
    while let Some(r) = d.decode_eof(&mut buf).unwrap() {
        out.push(r);
    }
    out
}

/// A fix with the values the sentences can carry (already rounded to the
/// style's decimals), one per second from `t0`.
fn arb_fix() -> impl Strategy<Value = (i64, u32, f64, f64, f64, f64, f64)> {
    (
        // From 2026-11-01 to 2042.
        1_794_000_000i64..2_300_000_000,
        0u32..1000,
        -89.99f64..89.99,
        -179.99f64..179.99,
        -400.0f64..9000.0,
        0.0f64..120.0,
        0.0f64..359.99,
    )
}

fn fix_of((secs, ms, lat, lon, alt, speed, course): (i64, u32, f64, f64, f64, f64, f64)) -> GpsFix {
    let s = style();
    let knots = quantize(speed * KNOTS_PER_MPS, s.speed_decimals);
    let mut f = GpsFix {
        time: Some(prost_types::Timestamp {
            seconds: secs,
            nanos: (ms * 1_000_000) as i32,
        }),
        latitude_deg: Some(quantize_coordinate(lat, s.latlon_decimals)),
        longitude_deg: Some(quantize_coordinate(lon, s.latlon_decimals)),
        altitude_msl_m: Some(quantize(alt, s.altitude_decimals)),
        speed_mps: Some(knots / KNOTS_PER_MPS),
        course_deg: Some(quantize(course, s.course_decimals)),
        // A GGA with an altitude from 4 or more satellites is 3D.
        satellites_used: Some(8),
        ..GpsFix::default()
    };
    f.set_mode(FixMode::FixMode3d);
    f.set_quality(FixQuality::Gps);
    f
}

fn close(a: Option<f64>, b: Option<f64>, tol: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn nmea_cycles_decode_to_the_fixes_encoded(
        fixes in proptest::collection::vec(arb_fix(), 1..6),
        chunk in 1usize..200,
        rolled_over in any::<bool>(),
    ) {
        let s = style();
        let mut fixes: Vec<GpsFix> = fixes.into_iter().map(fix_of).collect();
        // One cycle per second, in order (an epoch is told by its time).
        let t0 = fixes[0].time.unwrap().seconds;
        for (i, f) in fixes.iter_mut().enumerate() {
            f.time.as_mut().unwrap().seconds = t0 + i as i64;
        }
        // A receiver with the week-rollover bug sends dates 1024 weeks
        // early; the decoder restores them on evidence of a trusted clock
        // (here one that agrees with the fixes).
        let mut bytes = Vec::new();
        for f in &fixes {
            let mut sent = f.clone();
            if rolled_over {
                sent.time.as_mut().unwrap().seconds -= 1024 * 7 * 86_400;
            }
            encode::rmc(&mut bytes, &s, &sent);
            encode::gga(&mut bytes, &s, &sent);
            encode::zda(&mut bytes, &s, &sent);
        }
        let mut d = NmeaDecoder::default();
        if rolled_over {
            d.set_time_evidence(Some(TimeEvidence {
                unix_seconds: t0,
                source: TimeSource::HostClock,
            }));
        }
        let got: Vec<GpsFix> = decode_all(&mut d, &bytes, chunk)
            .into_iter()
            .filter_map(Reading::into_gps)
            .collect();
        prop_assert_eq!(got.len(), fixes.len());
        for (g, want) in got.iter().zip(&fixes) {
            prop_assert_eq!(g.time, want.time);
            prop_assert!(close(g.latitude_deg, want.latitude_deg, 1e-12), "{:?} {:?}", g.latitude_deg, want.latitude_deg);
            prop_assert!(close(g.longitude_deg, want.longitude_deg, 1e-12), "{:?} {:?}", g.longitude_deg, want.longitude_deg);
            prop_assert!(close(g.altitude_msl_m, want.altitude_msl_m, 1e-9));
            prop_assert!(close(g.speed_mps, want.speed_mps, 1e-9), "{:?} {:?}", g.speed_mps, want.speed_mps);
            prop_assert!(close(g.course_deg, want.course_deg, 1e-9));
            prop_assert_eq!(g.mode(), FixMode::FixMode3d);
        }
        let st = d.stats();
        prop_assert_eq!(st.checksum_errors + st.framing_errors, 0);
        prop_assert_eq!(st.messages_ok, 3 * fixes.len() as u64);
    }

    #[test]
    fn nmea_arbitrary_bytes_never_panic_and_are_all_consumed(
        bytes in proptest::collection::vec(any::<u8>(), 0..3000),
        chunk in 1usize..64,
    ) {
        let mut d = NmeaDecoder::default();
        decode_all(&mut d, &bytes, chunk);
        prop_assert_eq!(d.stats().bytes, bytes.len() as u64);
    }

    #[test]
    fn mavlink_positions_decode_to_the_values_encoded(
        frames in proptest::collection::vec(
            (-900_000_000i32..=900_000_000, -1_800_000_000i32..=1_800_000_000, any::<i32>(),
             any::<i16>(), any::<i16>(), any::<i16>(), any::<bool>()),
            1..20,
        ),
        chunk in 1usize..120,
    ) {
        let mut bytes = Vec::new();
        for (i, &(lat, lon, alt, vx, vy, vz, v2)) in frames.iter().enumerate() {
            let msg = MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                lat, lon, alt, vx, vy, vz, ..GLOBAL_POSITION_INT_DATA::default()
            });
            let version = if v2 { MavlinkVersion::V2 } else { MavlinkVersion::V1 };
            let header = MavHeader { system_id: 1, component_id: 1, sequence: i as u8 };
            mav::frame(version, header, &msg, &mut bytes);
        }
        // The autopilot pinned: its data counts before any heartbeat.
        let mut d = MavlinkDecoder::new(MavlinkOptions { system_id: Some(1), ..MavlinkOptions::default() });
        let got: Vec<GpsFix> = decode_all(&mut d, &bytes, chunk)
            .into_iter()
            .filter_map(Reading::into_gps)
            .collect();
        prop_assert_eq!(got.len(), frames.len());
        for (g, &(lat, lon, alt, vx, vy, vz, _)) in got.iter().zip(&frames) {
            prop_assert_eq!(g.latitude_deg, Some(f64::from(lat) / 1e7));
            prop_assert_eq!(g.longitude_deg, Some(f64::from(lon) / 1e7));
            prop_assert_eq!(g.altitude_msl_m, Some(f64::from(alt) / 1000.0));
            prop_assert_eq!(g.climb_mps, Some(-f64::from(vz) / 100.0));
            let speed = (f64::from(vx) / 100.0).hypot(f64::from(vy) / 100.0);
            prop_assert!(close(g.speed_mps, Some(speed), 1e-9));
        }
        let st = d.stats();
        prop_assert_eq!(st.checksum_errors + st.framing_errors + st.decode_errors, 0);
        prop_assert_eq!(st.messages_ok, frames.len() as u64);
    }
}
