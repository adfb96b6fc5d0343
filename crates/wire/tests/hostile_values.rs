//! The findings of issue 12's adversarial pass, one test each: well-formed,
//! checksummed messages carrying out-of-range values. What the daemon
//! publishes of them (the decoder's readings after the value contract) must
//! leave those values out and count them, and keep the valid rest.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_in_contract, decode_stream, published, sentence};
use dronetel_proto::tracker::{TrackerObject, TrackerReport, Velocity};
use dronetel_proto::v1::{frame::Body, Frame, GpsFix};
use dronetel_wire::mavlink::common::{
    GpsFixType, MavMessage, GLOBAL_POSITION_INT_DATA, GPS_RAW_INT_DATA, SYS_STATUS_DATA,
};
use dronetel_wire::mavlink::{encode, MavlinkDecoder};
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::tracker::{self, TrackerDecoder};
use dronetel_wire::Reading;
use mavlink::{MavHeader, MavlinkVersion};

fn mavlink_frames(msgs: &[MavMessage]) -> Vec<u8> {
    let mut out = Vec::new();
    for (seq, m) in msgs.iter().enumerate() {
        let header = MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: seq as u8,
        };
        encode::frame(MavlinkVersion::V2, header, m, &mut out);
    }
    out
}

fn gps_fixes(readings: Vec<Reading>) -> Vec<GpsFix> {
    readings.into_iter().filter_map(Reading::into_gps).collect()
}

fn gps_raw(lat: i32, lon: i32, alt: i32, time_usec: u64) -> MavMessage {
    MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
        time_usec,
        lat,
        lon,
        alt,
        eph: 90,
        epv: u16::MAX,
        vel: 1234,
        cog: u16::MAX,
        fix_type: GpsFixType::GPS_FIX_TYPE_3D_FIX,
        satellites_visible: 14,
        ..GPS_RAW_INT_DATA::default()
    })
}

fn global_position(lat: i32, lon: i32, alt: i32) -> MavMessage {
    MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
        lat,
        lon,
        alt,
        vx: 300,
        vy: -400,
        vz: 50,
        ..GLOBAL_POSITION_INT_DATA::default()
    })
}

/// Latitude/longitude/altitude values of the finding: INT32_MAX (±214.7°,
/// 2147 km), 91° and 181°.
const HOSTILE_POSITIONS: [(i32, i32, i32); 3] = [
    (i32::MAX, i32::MAX, i32::MAX),
    (i32::MIN, i32::MIN, i32::MIN),
    (910_000_000, 1_810_000_000, 2_000_000_000),
];

#[test]
fn gps_raw_int_position_out_of_range_is_left_out_and_counted() {
    for (lat, lon, alt) in HOSTILE_POSITIONS {
        let bytes = mavlink_frames(&[gps_raw(lat, lon, alt, 1_700_000_000_200_000)]);
        let (out, removed) = published(decode_stream(MavlinkDecoder::default(), &bytes));
        let fixes = gps_fixes(out);
        assert_eq!(fixes.len(), 1, "the valid rest of the fix is published");
        let f = &fixes[0];
        assert_eq!(
            (f.latitude_deg, f.longitude_deg, f.altitude_msl_m),
            (None, None, None)
        );
        assert_eq!(removed, 3, "lat, lon and alt counted for {lat} {lon} {alt}");
        assert_eq!((f.satellites_visible, f.speed_mps), (Some(14), Some(12.34)));
        assert!(f.time.is_some());
    }
}

#[test]
fn global_position_int_out_of_range_is_left_out_and_counted() {
    for (lat, lon, alt) in HOSTILE_POSITIONS {
        let bytes = mavlink_frames(&[global_position(lat, lon, alt)]);
        let (out, removed) = published(decode_stream(MavlinkDecoder::default(), &bytes));
        let fixes = gps_fixes(out);
        assert_eq!(fixes.len(), 1);
        let f = &fixes[0];
        assert_eq!(
            (f.latitude_deg, f.longitude_deg, f.altitude_msl_m),
            (None, None, None)
        );
        assert_eq!(removed, 3);
        assert_eq!(f.speed_mps, Some(5.0), "the velocity is valid and kept");
    }
}

#[test]
fn a_position_just_inside_the_range_is_kept() {
    let bytes = mavlink_frames(&[global_position(900_000_000, -1_800_000_000, 99_000_000)]);
    let (out, removed) = published(decode_stream(MavlinkDecoder::default(), &bytes));
    let f = &gps_fixes(out)[0];
    assert_eq!(removed, 0);
    assert_eq!(
        (f.latitude_deg, f.longitude_deg),
        (Some(90.0), Some(-180.0))
    );
    assert_eq!(f.altitude_msl_m, Some(99_000.0));
}

#[test]
fn gps_raw_int_time_at_uint64_max_is_left_out_and_the_frame_prints_as_json() {
    let bytes = mavlink_frames(&[gps_raw(473_977_420, 85_455_940, 488_123, u64::MAX)]);
    let (out, removed) = published(decode_stream(MavlinkDecoder::default(), &bytes));
    assert_eq!(removed, 1);
    let fix = gps_fixes(out).remove(0);
    assert_eq!(fix.time, None);
    assert_eq!(fix.latitude_deg, Some(47.397_742));
    let frame = Frame {
        seq: 1,
        sensor: "fc".into(),
        received_at: None,
        body: Some(Body::Gps(fix)),
    };
    let json: serde_json::Value =
        serde_json::from_str(&dronetel_proto::json::frame_to_json(&frame)).unwrap();
    assert_eq!(json["gps"]["latitude_deg"], 47.397_742);
    assert!(json["gps"].get("time").is_none());
}

#[test]
fn sys_status_remaining_above_100_percent_is_left_out_and_counted() {
    for remaining in [101, 120, 127, -2, i8::MIN] {
        let msg = MavMessage::SYS_STATUS(SYS_STATUS_DATA {
            voltage_battery: 15_800,
            current_battery: 1234,
            battery_remaining: remaining,
            ..SYS_STATUS_DATA::default()
        });
        let bytes = mavlink_frames(&[msg]);
        let (out, removed) = published(decode_stream(MavlinkDecoder::default(), &bytes));
        let [Reading::Battery(b)] = out.as_slice() else {
            panic!("one battery reading expected: {out:?}")
        };
        assert_eq!(b.remaining_percent, None, "remaining {remaining}");
        assert_eq!(removed, 1);
        assert_eq!((b.voltage_v, b.current_a), (Some(15.8), Some(12.34)));
    }
}

#[test]
fn nmea_rmc_negative_speed_and_course_999_are_left_out_and_counted() {
    let rmc = "GPRMC,030719.000,A,3747.0873,S,17518.8938,E,-22.4,999,311214,,,A";
    let bytes = sentence(rmc);
    let (out, removed) = published(decode_stream(NmeaDecoder::default(), bytes.as_bytes()));
    let fixes = gps_fixes(out);
    assert_eq!(fixes.len(), 1);
    let f = &fixes[0];
    assert_eq!((f.speed_mps, f.course_deg), (None, None));
    assert_eq!(removed, 2);
    assert!(f.latitude_deg.is_some() && f.longitude_deg.is_some() && f.time.is_some());
}

fn object(track_id: u32) -> TrackerObject {
    TrackerObject {
        track_id,
        label: "person".into(),
        confidence: 0.9,
        x: 0.1,
        y: 0.2,
        w: 0.3,
        h: 0.4,
        range_m: Some(12.5),
        bearing_deg: Some(-3.0),
        elevation_deg: Some(1.0),
        velocity: Some(Velocity {
            x: 1.0,
            y: 0.0,
            z: -0.5,
        }),
    }
}

fn tracking(objects: Vec<TrackerObject>) -> (Vec<Reading>, u32) {
    let report = TrackerReport {
        frame: 1,
        timestamp_us: 1_000_000,
        objects,
    };
    let mut bytes = Vec::new();
    tracker::encode(&report, &mut bytes).unwrap();
    published(decode_stream(TrackerDecoder::default(), &bytes))
}

#[test]
fn tracker_objects_with_an_invalid_confidence_or_box_are_dropped() {
    let bad: [fn(&mut TrackerObject); 9] = [
        |o| o.confidence = f32::NAN,
        |o| o.confidence = 5.0,
        |o| o.confidence = f32::NEG_INFINITY,
        |o| o.x = f32::INFINITY,
        |o| o.y = -3.0,
        |o| o.w = 100.0,
        |o| o.h = f32::NAN,
        |o| o.x = -f32::MIN_POSITIVE,
        |o| o.w = 1.000_001,
    ];
    for (i, spoil) in bad.iter().enumerate() {
        let mut hostile = object(2);
        spoil(&mut hostile);
        let (out, removed) = tracking(vec![object(1), hostile]);
        let [Reading::Tracking(t)] = out.as_slice() else {
            panic!("one tracking reading expected: {out:?}")
        };
        let ids: Vec<u32> = t.objects.iter().map(|o| o.track_id).collect();
        assert_eq!(ids, [1], "case {i}: only the valid object remains");
        assert_eq!(removed, 1, "case {i}");
    }
}

#[test]
fn tracker_optional_values_out_of_range_are_left_out_and_the_object_kept() {
    let bad: [fn(&mut TrackerObject); 7] = [
        |o| o.range_m = Some(f32::NAN),
        |o| o.range_m = Some(f32::NEG_INFINITY),
        |o| o.range_m = Some(-1.0),
        |o| o.bearing_deg = Some(f32::INFINITY),
        |o| o.bearing_deg = Some(f32::NAN),
        |o| o.elevation_deg = Some(91.0),
        |o| o.label = "x".repeat(1000),
    ];
    for (i, spoil) in bad.iter().enumerate() {
        let mut hostile = object(2);
        spoil(&mut hostile);
        let (out, removed) = tracking(vec![hostile]);
        let [Reading::Tracking(t)] = out.as_slice() else {
            panic!("one tracking reading expected: {out:?}")
        };
        assert_eq!(t.objects.len(), 1, "case {i}");
        assert_eq!(removed, 1, "case {i}");
        assert_in_contract(&out[0]);
        assert_eq!(
            t.objects[0].confidence, 0.9f32 as f64,
            "case {i}: the rest stays"
        );
    }
}

#[test]
fn tracker_velocity_nan_or_infinite_is_left_out_per_component() {
    let mut hostile = object(2);
    hostile.velocity = Some(Velocity {
        x: f32::NAN,
        y: f32::INFINITY,
        z: 2.0,
    });
    let (out, removed) = tracking(vec![hostile]);
    let [Reading::Tracking(t)] = out.as_slice() else {
        panic!("one tracking reading expected: {out:?}")
    };
    let o = &t.objects[0];
    assert_eq!((o.velocity_x_mps, o.velocity_y_mps), (None, None));
    assert_eq!(o.velocity_z_mps, Some(2.0));
    assert_eq!(removed, 2);
}

#[test]
fn a_label_of_32_bytes_is_kept() {
    let mut o = object(2);
    o.label = "é".repeat(16);
    let (out, removed) = tracking(vec![o]);
    let [Reading::Tracking(t)] = out.as_slice() else {
        panic!("one tracking reading expected: {out:?}")
    };
    assert_eq!((t.objects[0].label.len(), removed), (32, 0));
}
