//! The daemon's own NMEA decoder, reading the simulated GPS over a real pty,
//! reproduces the simulator's truth.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::common::{Event, Reader, Scratch, DEADLINE};
use bytes::BytesMut;
use dronetel_proto::v1::GpsFix;
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::{Reading, SensorDecoder};
use firmware_sim::{SimOptions, Simulator, Truth};

fn close(a: Option<f64>, b: Option<f64>, tol: f64, what: &str) {
    let (a, b) = (a.unwrap_or_else(|| panic!("{what} absent")), b.unwrap());
    assert!((a - b).abs() <= tol, "{what}: decoded {a}, truth {b}");
}

fn assert_fix_matches(got: &GpsFix, truth: &Truth) {
    let want = &truth.fix;
    assert_eq!(got.time, want.time);
    assert_eq!(got.mode(), want.mode());
    assert_eq!(got.quality(), want.quality());
    close(got.latitude_deg, want.latitude_deg, 1e-9, "latitude");
    close(got.longitude_deg, want.longitude_deg, 1e-9, "longitude");
    close(got.altitude_msl_m, want.altitude_msl_m, 1e-6, "altitude");
    close(
        got.altitude_hae_m,
        want.altitude_hae_m,
        1e-6,
        "altitude hae",
    );
    close(
        got.geoid_separation_m,
        want.geoid_separation_m,
        1e-6,
        "geoid",
    );
    close(got.speed_mps, want.speed_mps, 1e-3, "speed");
    match want.course_deg {
        Some(c) => close(got.course_deg, Some(c), 1e-6, "course"),
        None => assert_eq!(got.course_deg, None, "course of a hovering vehicle"),
    }
    for (g, w, what) in [
        (got.hdop, want.hdop, "hdop"),
        (got.vdop, want.vdop, "vdop"),
        (got.pdop, want.pdop, "pdop"),
        (got.horizontal_error_m, want.horizontal_error_m, "eph"),
        (got.vertical_error_m, want.vertical_error_m, "epv"),
    ] {
        close(g, w, 1e-6, what);
    }
    // Both derive climb from the previous cycle on the line.
    if want.climb_mps.is_some() {
        close(got.climb_mps, want.climb_mps, 1e-4, "climb");
    }
    assert_eq!(got.satellites_used, want.satellites_used);
    assert_eq!(got.satellites_visible, want.satellites_visible);
    let key = |f: &GpsFix| -> BTreeMap<(i32, u32), String> {
        f.sky
            .iter()
            .map(|s| ((s.constellation, s.prn), format!("{s:?}")))
            .collect()
    };
    assert_eq!(key(got), key(want), "sky");
}

#[tokio::test]
async fn decoder_reproduces_the_truth_over_a_pty() {
    let dir = Scratch::new("decode");
    let opts = SimOptions {
        gps_rate_hz: 25.0,
        seed: 11,
        ..SimOptions::new(&dir.0)
    };
    let sim = Simulator::start(opts).await.unwrap();
    let gps = sim.gps().clone();
    let mut truths = gps.subscribe_truth();
    let mut reader = Reader::open(&gps.link());
    let mut decoder = NmeaDecoder::default();
    let mut buf = BytesMut::new();
    let mut fixes: Vec<GpsFix> = Vec::new();
    let mut pending: Vec<Truth> = Vec::new();
    let mut matched = 0;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while matched < 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "matched only {matched}"
        );
        tokio::select! {
            t = truths.recv() => pending.push(t.unwrap()),
            e = reader.events.recv() => match e.unwrap() {
                Event::Bytes(b) => {
                    buf.extend_from_slice(&b);
                    let mut out = Vec::new();
                    decoder.decode_all(&mut buf, &mut out);
                    fixes.extend(out.into_iter().filter_map(|r| match r {
                        Reading::Gps(f) => Some(f),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }));
                }
                Event::Ended(e) => panic!("device closed: {e:?}"),
            },
        }
        // Fixes decoded from cycles written before we subscribed have no
        // truth and are dropped once a later truth is known.
        while let (Some(f), Some(t)) = (fixes.first(), pending.first()) {
            let ft = f.time.unwrap();
            let tt = t.fix.time.unwrap();
            match (ft.seconds, ft.nanos).cmp(&(tt.seconds, tt.nanos)) {
                std::cmp::Ordering::Less => {
                    fixes.remove(0);
                }
                std::cmp::Ordering::Greater => panic!("cycle at {tt:?} written but not decoded"),
                std::cmp::Ordering::Equal => {
                    assert_fix_matches(&fixes.remove(0), &pending.remove(0));
                    matched += 1;
                }
            }
        }
    }
    let stats = decoder.stats();
    assert_eq!(stats.checksum_errors, 0, "{stats:?}");
    assert_eq!(stats.framing_errors, 0, "{stats:?}");
    assert_eq!(stats.unknown_messages, 0, "{stats:?}");
    sim.stop().await;
}
