//! The JSON mapping is total: a frame carrying a `Timestamp` or `Duration`
//! outside protobuf's range (from an old daemon, a recording or a foreign
//! producer) prints with those values left out instead of panicking.
#![allow(clippy::unwrap_used, missing_docs)]

use dronetel_proto::json::frame_to_json;
use dronetel_proto::v1::{frame::Body, Frame, GpsFix, SensorHealth, TrackingUpdate};
use proptest::prelude::*;
use prost_types::{Duration, Timestamp};

fn ts(seconds: i64, nanos: i32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

fn json(frame: &Frame) -> serde_json::Value {
    serde_json::from_str(&frame_to_json(frame)).unwrap()
}

#[test]
fn an_out_of_range_timestamp_is_left_out_and_the_rest_printed() {
    // GPS_RAW_INT time_usec = UINT64_MAX, as the daemon used to publish it.
    let far = ts(18_446_744_073_709, 551_615_000);
    let frame = Frame {
        seq: 7,
        sensor: "fc".into(),
        received_at: ts(1_700_000_000, 0),
        body: Some(Body::Gps(GpsFix {
            time: far,
            latitude_deg: Some(47.5),
            ..Default::default()
        })),
    };
    let v = json(&frame);
    assert_eq!(v["seq"], "7");
    assert_eq!(v["received_at"], "2023-11-14T22:13:20Z");
    assert_eq!(v["gps"]["latitude_deg"], 47.5);
    assert!(v["gps"].get("time").is_none(), "{v}");
}

#[test]
fn out_of_range_values_at_every_depth_are_left_out() {
    let frame = Frame {
        seq: 1,
        sensor: "tracker".into(),
        received_at: ts(i64::MIN, 0),
        body: Some(Body::Tracking(TrackingUpdate {
            sensor_frame: 3,
            latency: Some(Duration {
                seconds: i64::MAX,
                nanos: 0,
            }),
            captured_at: ts(0, -1),
            ..Default::default()
        })),
    };
    let v = json(&frame);
    assert!(v.get("received_at").is_none(), "{v}");
    let t = &v["tracking"];
    assert_eq!(t["sensor_frame"], "3");
    assert!(
        t.get("latency").is_none() && t.get("captured_at").is_none(),
        "{v}"
    );

    let health = Frame {
        body: Some(Body::Health(SensorHealth {
            last_message_age: Some(Duration {
                seconds: 1,
                nanos: -5,
            }),
            bytes_read: 9,
            ..Default::default()
        })),
        ..frame
    };
    let v = json(&health);
    assert_eq!(v["health"]["bytes_read"], "9");
    assert!(v["health"].get("last_message_age").is_none(), "{v}");
}

#[test]
fn the_range_limits_themselves_are_printed() {
    let frame = Frame {
        received_at: ts(253_402_300_799, 999_999_999),
        body: Some(Body::Gps(GpsFix {
            time: ts(-62_135_596_800, 0),
            ..Default::default()
        })),
        ..Default::default()
    };
    let v = json(&frame);
    assert_eq!(v["received_at"], "9999-12-31T23:59:59.999999999Z");
    assert_eq!(v["gps"]["time"], "0001-01-01T00:00:00Z");
}

proptest! {
    #[test]
    fn any_timestamp_or_duration_gives_parseable_json(
        seconds in prop_oneof![any::<i64>(), -62_135_596_801i64..253_402_300_801],
        nanos in any::<i32>(),
        lat in any::<f64>(),
    ) {
        let frame = Frame {
            seq: 1,
            sensor: "s".into(),
            received_at: ts(seconds, nanos),
            body: Some(Body::Tracking(TrackingUpdate {
                latency: Some(Duration { seconds, nanos }),
                captured_at: ts(seconds, nanos),
                ..Default::default()
            })),
        };
        prop_assert_eq!(&json(&frame)["seq"], "1");
        let gps = Frame {
            body: Some(Body::Gps(GpsFix { time: ts(seconds, nanos), latitude_deg: Some(lat), ..Default::default() })),
            ..frame
        };
        prop_assert_eq!(&json(&gps)["sensor"], "s");
    }
}
