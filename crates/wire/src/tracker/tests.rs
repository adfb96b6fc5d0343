#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use dronetel_proto::tracker::{TrackerObject, TrackerReport, Velocity};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::decoder::object;
use super::{encode, TrackerDecoder, MAX_FRAME};
use crate::{Reading, SensorDecoder};

fn report(frame: u32, n: usize) -> TrackerReport {
    TrackerReport {
        frame,
        timestamp_us: 1_000_000 + u64::from(frame) * 33_333,
        objects: (0..n as u32)
            .map(|i| TrackerObject {
                track_id: i + 7,
                label: ["person", "car", "bicycle"][i as usize % 3].into(),
                confidence: 0.5 + i as f32 / 20.0,
                x: 0.1,
                y: 0.2 + i as f32 / 100.0,
                w: 0.05,
                h: 0.1,
                range_m: (i % 2 == 0).then_some(12.5),
                bearing_deg: Some(-3.0),
                elevation_deg: None,
                velocity: (i % 3 == 0).then_some(Velocity {
                    x: 1.0,
                    y: 0.0,
                    z: -0.5,
                }),
            })
            .collect(),
    }
}

/// A fake host clock advancing 34 ms per reading.
fn decoder() -> TrackerDecoder {
    let t = Arc::new(AtomicU64::new(0));
    TrackerDecoder::with_clock(Box::new(move || {
        UNIX_EPOCH
            + Duration::from_secs(1_700_000_000)
            + Duration::from_micros(t.fetch_add(33_334, Ordering::SeqCst))
    }))
}

fn frames_of(reports: &[TrackerReport]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in reports {
        encode(r, &mut out).unwrap();
    }
    out
}

fn decode_chunked(bytes: &[u8], chunk: usize, d: &mut TrackerDecoder) -> Vec<TrackerReport> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in bytes.chunks(chunk) {
        buf.extend_from_slice(c);
        while let Some(r) = d.decode(&mut buf).unwrap() {
            let Reading::Tracking(u) = r else {
                panic!("{r:?}")
            };
            out.push(back(&u));
        }
        assert!(buf.is_empty());
    }
    out
}

/// The wire report an update came from (objects compared through the
/// exact f32 → f64 mapping).
fn back(u: &dronetel_proto::v1::TrackingUpdate) -> TrackerReport {
    TrackerReport {
        frame: u.sensor_frame as u32,
        timestamp_us: u.sensor_time_us,
        objects: u
            .objects
            .iter()
            .map(|o| TrackerObject {
                track_id: o.track_id,
                label: o.label.clone(),
                confidence: o.confidence as f32,
                x: o.bbox_x as f32,
                y: o.bbox_y as f32,
                w: o.bbox_w as f32,
                h: o.bbox_h as f32,
                range_m: o.range_m.map(|v| v as f32),
                bearing_deg: o.bearing_deg.map(|v| v as f32),
                elevation_deg: o.elevation_deg.map(|v| v as f32),
                velocity: o.velocity_x_mps.map(|x| Velocity {
                    x: x as f32,
                    y: o.velocity_y_mps.unwrap() as f32,
                    z: o.velocity_z_mps.unwrap() as f32,
                }),
            })
            .collect(),
    }
}

#[test]
fn every_chunk_size_with_junk_corruption_and_truncation() {
    let reports: Vec<_> = (0..6).map(|f| report(f, f as usize % 4)).collect();
    let mut bytes = b"\x13\x37junk before".to_vec();
    bytes.push(0);
    let mut expect = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let mut f = Vec::new();
        encode(r, &mut f).unwrap();
        match i {
            1 => {
                // Corrupted CRC: flip a bit in the last CRC byte (COBS byte
                // before the delimiter; never made zero).
                let n = f.len() - 2;
                f[n] = if f[n] == 0x01 { 0x02 } else { f[n] ^ 0x01 };
                if f[n] == 0 {
                    f[n] = 0x03;
                }
            }
            3 => {
                // Truncated: the sensor reset mid-frame; the delimiter of
                // the next frame closes a short or broken frame.
                f.truncate(f.len() / 2);
            }
            // Frame 4 is lost with it: its bytes complete the truncated frame.
            4 => {}
            _ => expect.push(r.clone()),
        }
        bytes.extend_from_slice(&f);
    }
    let mut whole = decoder();
    assert_eq!(decode_chunked(&bytes, bytes.len(), &mut whole), expect);
    let s = whole.stats();
    assert_eq!(s.messages_ok, 3);
    assert_eq!(s.checksum_errors, 1, "{s:?}");
    // Junk before the first delimiter and the truncated frame (joined to
    // frame 4's bytes, so frame 4 is lost with it) are framing or CRC errors.
    assert!(
        s.framing_errors + s.checksum_errors + s.decode_errors >= 3,
        "{s:?}"
    );
    eprintln!("{} bytes, chunk sizes 1..={0}, stats {s:?}", bytes.len());
    for chunk in 1..=bytes.len() {
        let mut d = decoder();
        assert_eq!(
            decode_chunked(&bytes, chunk, &mut d),
            expect,
            "chunk {chunk}"
        );
        assert_eq!(d.stats(), s, "chunk {chunk}");
    }
}

#[test]
fn over_long_frames_are_bounded_counted_and_skipped() {
    let mut bytes = vec![0x55; MAX_FRAME * 3];
    bytes.push(0);
    bytes.extend(frames_of(&[report(1, 2)]));
    let mut d = decoder();
    let got = decode_chunked(&bytes, 1000, &mut d);
    assert_eq!(got, vec![report(1, 2)]);
    assert_eq!(d.stats().framing_errors, 1);
    let big = TrackerReport {
        objects: (0..200).map(|_| report(0, 1).objects[0].clone()).collect(),
        ..report(0, 0)
    };
    assert!(
        encode(&big, &mut Vec::new()).is_err(),
        "encoder refuses what decoders drop"
    );
}

#[test]
fn frame_counter_gaps_are_dropped_frames() {
    let frames = [10u32, 11, 14, 15, 20];
    let bytes = frames_of(&frames.map(|f| report(f, 1)));
    let mut d = decoder();
    let mut buf = BytesMut::from(&bytes[..]);
    let mut last = None;
    while let Some(Reading::Tracking(u)) = d.decode(&mut buf).unwrap() {
        last = Some(u);
    }
    assert_eq!(d.stats().dropped_frames, 2 + 4);
    assert_eq!(last.unwrap().dropped_frames, 6);
}

#[test]
fn updates_carry_the_objects_and_a_latency() {
    let r = report(3, 3);
    let bytes = frames_of(std::slice::from_ref(&r));
    let mut d = decoder();
    let Some(Reading::Tracking(u)) = d.decode(&mut BytesMut::from(&bytes[..])).unwrap() else {
        panic!()
    };
    assert_eq!(u.objects, r.objects.iter().map(object).collect::<Vec<_>>());
    assert_eq!(u.objects[1].label, "car");
    assert_eq!(u.objects[1].range_m, None);
    assert_eq!(u.objects[0].velocity_z_mps, Some(-0.5));
    assert!(u.latency.is_some() && u.captured_at.is_some());
    let _ = SystemTime::now();
}

fn arb_object() -> impl Strategy<Value = TrackerObject> {
    (
        any::<u32>(),
        "[a-z ]{0,32}",
        (
            0.0f32..=1.0,
            0.0f32..=1.0,
            0.0f32..=1.0,
            0.0f32..=1.0,
            0.0f32..=1.0,
        ),
        proptest::option::of(0.0f32..500.0),
        proptest::option::of(-90.0f32..90.0),
        proptest::option::of(-90.0f32..90.0),
        proptest::option::of((-50.0f32..50.0, -50.0f32..50.0, -50.0f32..50.0)),
    )
        .prop_map(
            |(
                track_id,
                label,
                (confidence, x, y, w, h),
                range_m,
                bearing_deg,
                elevation_deg,
                v,
            )| TrackerObject {
                track_id,
                label,
                confidence,
                x,
                y,
                w,
                h,
                range_m,
                bearing_deg,
                elevation_deg,
                velocity: v.map(|(x, y, z)| Velocity { x, y, z }),
            },
        )
}

fn arb_report() -> impl Strategy<Value = TrackerReport> {
    (
        any::<u32>(),
        any::<u64>(),
        proptest::collection::vec(arb_object(), 0..40),
    )
        .prop_map(|(frame, timestamp_us, objects)| TrackerReport {
            frame,
            timestamp_us,
            objects,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_gives_the_report_back(reports in proptest::collection::vec(arb_report(), 1..5), chunk in 1usize..300) {
        let bytes = frames_of(&reports);
        let mut d = decoder();
        let got = decode_chunked(&bytes, chunk, &mut d);
        prop_assert_eq!(got, reports);
        prop_assert_eq!(d.stats().framing_errors + d.stats().checksum_errors + d.stats().decode_errors, 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000), chunk in 1usize..64) {
        let mut d = decoder();
        let mut buf = BytesMut::new();
        for c in bytes.chunks(chunk) {
            buf.extend_from_slice(c);
            while d.decode(&mut buf).unwrap().is_some() {}
            prop_assert!(buf.is_empty());
        }
        prop_assert!(d.decode_eof(&mut buf).is_ok());
        prop_assert_eq!(d.stats().bytes, bytes.len() as u64);
    }
}

/// The README's example frame: a firmware author can check an encoder
/// against these bytes.
#[test]
fn readme_example_frame_and_crc_check_value() {
    assert_eq!(super::frame::CRC32.checksum(b"123456789"), 0xCBF4_3926);
    let report = TrackerReport {
        frame: 1,
        timestamp_us: 1000,
        objects: vec![TrackerObject {
            track_id: 7,
            label: "car".into(),
            confidence: 0.5,
            x: 0.25,
            y: 0.5,
            w: 0.125,
            h: 0.25,
            ..Default::default()
        }],
    };
    let mut out = Vec::new();
    encode(&report, &mut out).unwrap();
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, README_EXAMPLE);
    let got = decode_chunked(&out, 1, &mut decoder());
    assert_eq!(got, vec![report]);
}

const README_EXAMPLE: &str =
    "10080110e8071a20080712036361721d0101033f250104803e2d0101033f350101033e3d0107803e8851033400";
