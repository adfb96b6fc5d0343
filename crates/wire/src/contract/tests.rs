#![allow(clippy::unwrap_used)]

use dronetel_proto::v1::{
    BatteryState, GpsFix, SatelliteInfo, TrackedObject, TrackingUpdate, VehicleStatus,
};
use prost_reflect::Kind;
use prost_types::{Duration, Timestamp};

use super::rules::{
    BATTERY_STATE, GPS_FIX, SATELLITE_INFO, TRACKED_OBJECT, TRACKING_UPDATE, VEHICLE_STATUS,
};
use super::{enforce, Bounds, Check, Rule};
use crate::Reading;

// ---------------------------------------------------------------- samples

fn sat() -> SatelliteInfo {
    SatelliteInfo {
        constellation: 1,
        prn: 17,
        elevation_deg: Some(45.0),
        azimuth_deg: Some(270.0),
        snr_dbhz: Some(41.0),
        used: true,
        signal_id: Some(1),
    }
}

/// A fix with every field set to a valid value.
fn fix() -> GpsFix {
    GpsFix {
        time: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 500_000_000,
        }),
        mode: 3,
        quality: 2,
        latitude_deg: Some(47.4),
        longitude_deg: Some(8.5),
        altitude_msl_m: Some(488.0),
        altitude_hae_m: Some(535.0),
        geoid_separation_m: Some(47.0),
        speed_mps: Some(12.0),
        course_deg: Some(181.5),
        climb_mps: Some(-1.5),
        hdop: Some(0.9),
        vdop: Some(1.2),
        pdop: Some(1.5),
        horizontal_error_m: Some(1.1),
        vertical_error_m: Some(1.8),
        satellites_used: Some(12),
        satellites_visible: Some(20),
        sky: vec![sat()],
        talker: "GN".into(),
        cycle_end: "RMC".into(),
        velocity_north_mps: Some(-3.0),
        velocity_east_mps: Some(11.6),
        velocity_down_mps: Some(1.5),
        speed_error_mps: Some(0.3),
        course_error_deg: Some(2.5),
        position_error_3d_m: Some(2.1),
        gnss_fix_ok: Some(true),
        magnetic_variation_deg: Some(-3.8),
        range_rms_m: Some(4.0),
        error_ellipse_major_m: Some(8.7),
        error_ellipse_minor_m: Some(4.7),
        error_ellipse_orientation_deg: Some(132.3),
        latitude_error_m: Some(6.8),
        longitude_error_m: Some(7.2),
        magnetic_course_deg: Some(190.5),
        expected_latitude_error_m: Some(1.0),
        expected_longitude_error_m: Some(1.0),
        expected_altitude_error_m: Some(3.1),
    }
}

fn battery() -> BatteryState {
    BatteryState {
        battery_id: 1,
        voltage_v: Some(15.8),
        current_a: Some(12.3),
        remaining_percent: Some(63.0),
        consumed_mah: Some(1500.0),
        consumed_wh: Some(20.0),
        temperature_c: Some(31.5),
        cell_voltages_v: vec![3.95, 3.96, 3.94, 3.95],
        time_remaining_s: Some(600),
        charge_state: 1,
        mode: 1,
        fault_flags: 0,
        source: 2,
    }
}

fn object() -> TrackedObject {
    TrackedObject {
        track_id: 7,
        label: "person".into(),
        confidence: 0.9,
        bbox_x: 0.1,
        bbox_y: 0.2,
        bbox_w: 0.3,
        bbox_h: 0.4,
        range_m: Some(12.5),
        bearing_deg: Some(-3.0),
        elevation_deg: Some(1.0),
        velocity_x_mps: Some(1.0),
        velocity_y_mps: Some(0.0),
        velocity_z_mps: Some(-0.5),
    }
}

fn tracking() -> TrackingUpdate {
    TrackingUpdate {
        sensor_frame: 12,
        objects: vec![object()],
        sensor_time_us: 1_000_000,
        dropped_frames: 0,
        latency: Some(Duration {
            seconds: 0,
            nanos: 4_000_000,
        }),
        captured_at: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        sensor_reboots: 0,
    }
}

fn vehicle() -> VehicleStatus {
    VehicleStatus {
        system_id: 1,
        component_id: 1,
        autopilot: 12,
        vehicle_type: 2,
        armed: true,
        system_status: 4,
        custom_mode: 0,
        mavlink_version: 2,
    }
}

/// How one table's message travels through [`enforce`]: inside which
/// reading, and how to get it back out (`None`: dropped).
struct Carrier<M> {
    sample: fn() -> M,
    wrap: fn(M) -> Reading,
    unwrap: fn(Reading) -> Option<M>,
}

/// Enforces the contract on `m` carried by `c`: the message that is left
/// and the invalid count.
fn through<M>(c: &Carrier<M>, m: M) -> (Option<M>, u32) {
    let e = enforce((c.wrap)(m));
    (e.reading.and_then(c.unwrap), e.invalid)
}

const GPS: Carrier<GpsFix> = Carrier {
    sample: fix,
    wrap: Reading::Gps,
    unwrap: Reading::into_gps,
};

const SAT: Carrier<SatelliteInfo> = Carrier {
    sample: sat,
    wrap: |s| {
        Reading::Gps(GpsFix {
            sky: vec![s],
            ..fix()
        })
    },
    unwrap: |r| r.into_gps().and_then(|f| f.sky.into_iter().next()),
};

const BATTERY: Carrier<BatteryState> = Carrier {
    sample: battery,
    wrap: Reading::Battery,
    unwrap: |r| match r {
        Reading::Battery(b) => Some(b),
        _ => None,
    },
};

const TRACKING: Carrier<TrackingUpdate> = Carrier {
    sample: tracking,
    wrap: Reading::Tracking,
    unwrap: |r| match r {
        Reading::Tracking(t) => Some(t),
        _ => None,
    },
};

const OBJECT: Carrier<TrackedObject> = Carrier {
    sample: object,
    wrap: |o| {
        Reading::Tracking(TrackingUpdate {
            objects: vec![o],
            ..tracking()
        })
    },
    unwrap: |r| match r {
        Reading::Tracking(t) => t.objects.into_iter().next(),
        _ => None,
    },
};

const VEHICLE: Carrier<VehicleStatus> = Carrier {
    sample: vehicle,
    wrap: Reading::Vehicle,
    unwrap: |r| match r {
        Reading::Vehicle(v) => Some(v),
        _ => None,
    },
};

// ------------------------------------------------------------- candidates

/// Numbers at and just beyond the edges of `b`, extremes and non-finite
/// values, each with whether `b` admits it.
fn edges(b: Bounds) -> Vec<(f64, bool)> {
    let mut v = vec![
        (b.min, true),
        (b.min.next_down(), false),
        (f64::NAN, false),
        (f64::INFINITY, false),
        (f64::NEG_INFINITY, false),
        (f64::MIN, false),
    ];
    if b.max_excluded {
        v.extend([(b.max, false), (b.max.next_down(), true)]);
    } else {
        v.extend([(b.max, true), (b.max.next_up(), false)]);
    }
    if b.max != f64::MAX || b.max_excluded {
        // The next integers out, for fields that hold integers.
        v.extend([
            (f64::MAX, false),
            (b.min - 1.0, false),
            (b.max + 1.0, false),
        ]);
    }
    v
}

/// Integers around the edges of `b` that a `T` can hold, with validity.
fn int_edges<T: TryFrom<i64> + Into<f64> + Copy>(b: Bounds, extremes: [T; 2]) -> Vec<(T, bool)> {
    let (lo, hi) = (b.min as i64, b.max.min(1e15) as i64);
    [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1]
        .into_iter()
        .filter_map(|n| T::try_from(n).ok())
        .chain(extremes)
        .map(|n| (n, b.contains(n.into())))
        .collect()
}

fn timestamps() -> Vec<(Timestamp, bool)> {
    let t = |seconds, nanos| Timestamp { seconds, nanos };
    let (min, max) = (-62_135_596_800, 253_402_300_799);
    vec![
        (t(min, 0), true),
        (t(max, 999_999_999), true),
        (t(min - 1, 999_999_999), false),
        (t(max + 1, 0), false),
        (t(0, -1), false),
        (t(0, 1_000_000_000), false),
        (t(i64::MAX, 0), false),
        (t(i64::MIN, 0), false),
    ]
}

fn durations() -> Vec<(Duration, bool)> {
    let d = |seconds, nanos| Duration { seconds, nanos };
    vec![
        (d(0, 0), true),
        (d(315_576_000_000, 999_999_999), true),
        (d(315_576_000_001, 0), false),
        (d(-1, 0), false),
        (d(0, -1), false),
        (d(i64::MAX, 0), false),
    ]
}

// ------------------------------------------------------------ engine tests

/// An optional field set to each candidate: kept as is when valid, left
/// out and counted once when not.
fn optional<M, T: Copy + PartialEq + std::fmt::Debug>(
    c: &Carrier<M>,
    name: &str,
    get: fn(&mut M) -> &mut Option<T>,
    candidates: Vec<(T, bool)>,
) {
    for (v, ok) in candidates {
        let mut m = (c.sample)();
        *get(&mut m) = Some(v);
        let (mut out, n) = through(c, m);
        let got = *get(out.as_mut().unwrap());
        // Compared through Debug: NaN is not equal to itself.
        let want = ok.then_some(v);
        assert_eq!(
            (format!("{got:?}"), n),
            (format!("{want:?}"), u32::from(!ok)),
            "{name} = {v:?}"
        );
    }
}

/// A required field's name and how to set it (rows only read those).
type Setter<M> = (&'static str, fn(&mut M, f64));

/// Every row of `rules`, through `c`: each candidate value is kept as is
/// when valid, and removed and counted once when not.
fn check_rows<M: Clone + PartialEq + std::fmt::Debug>(
    c: &Carrier<M>,
    rules: &[Rule<M>],
    required: &[Setter<M>],
) {
    let (unchanged, n) = through(c, (c.sample)());
    assert_eq!(
        (unchanged, n),
        (Some((c.sample)()), 0),
        "the sample is valid"
    );
    for rule in rules {
        let name = rule.field;
        match &rule.check {
            Check::Number(get, b) => optional(c, name, *get, edges(*b)),
            Check::Count(get, b) => optional(c, name, *get, int_edges(*b, [u32::MIN, u32::MAX])),
            Check::Signed(get, b) => optional(c, name, *get, int_edges(*b, [i32::MIN, i32::MAX])),
            Check::Time(get) => optional(c, name, *get, timestamps()),
            Check::Elapsed(get) => optional(c, name, *get, durations()),
            Check::Required(get, b) => {
                let (_, set) = required
                    .iter()
                    .find(|(f, _)| *f == name)
                    .unwrap_or_else(|| panic!("no setter for required {name}"));
                for (v, ok) in edges(*b) {
                    let mut m = (c.sample)();
                    set(&mut m, v);
                    // Integer fields cannot hold every candidate.
                    if get(&m).to_bits() != v.to_bits() {
                        continue;
                    }
                    let (out, n) = through(c, m.clone());
                    let want = ok.then_some(m);
                    assert_eq!((out, n), (want, u32::from(!ok)), "{name} = {v}");
                }
            }
            Check::Each(get, b) => {
                for (v, ok) in edges(*b) {
                    let mut m = (c.sample)();
                    let before = get(&mut m).clone();
                    get(&mut m).insert(1, v);
                    let (mut out, n) = through(c, m);
                    let got = get(out.as_mut().unwrap()).clone();
                    let mut want = before;
                    if ok {
                        want.insert(1, v);
                    }
                    assert_eq!((got, n), (want, u32::from(!ok)), "{name} = {v}");
                }
            }
            Check::Enum(get, defined) => {
                for v in [-1, 0, 1, 99, i32::MAX] {
                    let ok = defined(v);
                    let mut m = (c.sample)();
                    *get(&mut m) = v;
                    let (mut out, n) = through(c, m);
                    let got = *get(out.as_mut().unwrap());
                    let want = if ok { v } else { 0 };
                    assert_eq!((got, n), (want, u32::from(!ok)), "{name} = {v}");
                }
                assert!(defined(0) && !defined(99), "{name}: 0 is UNSPECIFIED");
            }
            Check::Text(get, max) => {
                for (len, ok) in [(0, true), (*max, true), (max + 1, false), (1000, false)] {
                    let mut m = (c.sample)();
                    *get(&mut m) = "a".repeat(len);
                    let (mut out, n) = through(c, m);
                    let got = get(out.as_mut().unwrap()).len();
                    let want = if ok { len } else { 0 };
                    assert_eq!((got, n), (want, u32::from(!ok)), "{name} of {len} bytes");
                }
            }
            Check::Any => {}
        }
    }
}

#[test]
fn gps_fix_rows_keep_valid_values_and_remove_invalid_ones() {
    check_rows(&GPS, GPS_FIX, &[]);
}

#[test]
fn satellite_rows_keep_valid_values_and_drop_entries_without_a_valid_prn() {
    check_rows(&SAT, SATELLITE_INFO, &[("prn", |m, v| m.prn = v as u32)]);
}

#[test]
fn battery_rows_keep_valid_values_and_remove_invalid_ones() {
    check_rows(
        &BATTERY,
        BATTERY_STATE,
        &[("battery_id", |m, v| m.battery_id = v as u32)],
    );
}

#[test]
fn tracking_rows_keep_valid_values_and_remove_invalid_ones() {
    check_rows(&TRACKING, TRACKING_UPDATE, &[]);
}

#[test]
fn object_rows_keep_valid_values_and_drop_objects_with_an_invalid_box() {
    check_rows(
        &OBJECT,
        TRACKED_OBJECT,
        &[
            ("confidence", |m, v| m.confidence = v),
            ("bbox_x", |m, v| m.bbox_x = v),
            ("bbox_y", |m, v| m.bbox_y = v),
            ("bbox_w", |m, v| m.bbox_w = v),
            ("bbox_h", |m, v| m.bbox_h = v),
        ],
    );
}

#[test]
fn vehicle_rows_drop_a_status_with_any_invalid_value() {
    check_rows(
        &VEHICLE,
        VEHICLE_STATUS,
        &[
            ("system_id", |m, v| m.system_id = v as u32),
            ("component_id", |m, v| m.component_id = v as u32),
            ("autopilot", |m, v| m.autopilot = v as u32),
            ("vehicle_type", |m, v| m.vehicle_type = v as u32),
            ("system_status", |m, v| m.system_status = v as u32),
            ("mavlink_version", |m, v| m.mavlink_version = v as u32),
        ],
    );
}

#[test]
fn bounds_admit_no_nan_or_infinity_and_exclude_an_open_end() {
    for b in [
        Bounds::closed(-90.0, 90.0),
        Bounds::half_open(0.0, 360.0),
        Bounds::at_least(0.0),
    ] {
        assert!(!b.contains(f64::NAN) && !b.contains(f64::INFINITY));
        assert!(!b.contains(f64::NEG_INFINITY) && b.contains(b.min));
    }
    assert!(!Bounds::half_open(0.0, 360.0).contains(360.0));
    assert!(Bounds::closed(-90.0, 90.0).contains(90.0));
    assert!(Bounds::at_least(0.0).contains(f64::MAX));
    assert_eq!(Bounds::half_open(0.0, 360.0).to_string(), "[0, 360)");
    assert_eq!(Bounds::closed(-273.15, 1e3).to_string(), "[-273.15, 1000]");
    assert_eq!(Bounds::at_least(0.0).to_string(), "finite, >= 0");
}

#[test]
fn a_fix_or_battery_left_with_nothing_valid_is_dropped_but_counted() {
    let bare = GpsFix {
        latitude_deg: Some(91.0),
        longitude_deg: Some(f64::NAN),
        talker: "GP".into(),
        cycle_end: "GGA".into(),
        ..Default::default()
    };
    let e = enforce(Reading::Gps(bare.clone()));
    assert_eq!((e.reading, e.invalid), (None, 2));
    // One valid value is enough to publish the rest.
    let kept = GpsFix {
        hdop: Some(1.0),
        ..bare
    };
    let e = enforce(Reading::Gps(kept));
    let f = e.reading.and_then(Reading::into_gps).unwrap();
    assert_eq!((f.latitude_deg, f.hdop, e.invalid), (None, Some(1.0), 2));

    let b = BatteryState {
        battery_id: 3,
        remaining_percent: Some(127.0),
        source: 1,
        ..Default::default()
    };
    let e = enforce(Reading::Battery(b));
    assert_eq!((e.reading, e.invalid), (None, 1));
}

#[test]
fn an_empty_reading_that_had_nothing_invalid_is_still_published() {
    let e = enforce(Reading::Gps(GpsFix::default()));
    assert_eq!(
        (e.reading, e.invalid),
        (Some(Reading::Gps(GpsFix::default())), 0)
    );
}

#[test]
fn every_invalid_value_of_a_dropped_object_is_counted_and_the_update_kept() {
    let mut t = tracking();
    t.objects = vec![
        TrackedObject {
            confidence: f64::NAN,
            bbox_w: -3.0,
            range_m: Some(f64::INFINITY),
            ..object()
        },
        object(),
    ];
    let e = enforce(Reading::Tracking(t));
    let Some(Reading::Tracking(out)) = e.reading else {
        panic!("the update stays")
    };
    assert_eq!((out.objects, e.invalid), (vec![object()], 3));
}

// ------------------------------------------------- the table and the .proto

/// (message, its rows as (field, valid text)) for every table.
fn tables() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    fn rows<M>(rules: &[Rule<M>]) -> Vec<(&'static str, String)> {
        rules.iter().map(|r| (r.field, r.valid())).collect()
    }
    vec![
        ("GpsFix", rows(GPS_FIX)),
        ("SatelliteInfo", rows(SATELLITE_INFO)),
        ("BatteryState", rows(BATTERY_STATE)),
        ("TrackingUpdate", rows(TRACKING_UPDATE)),
        ("TrackedObject", rows(TRACKED_OBJECT)),
        ("VehicleStatus", rows(VEHICLE_STATUS)),
    ]
}

#[test]
fn every_field_of_every_reading_body_has_exactly_one_row() {
    let pool = dronetel_proto::json::descriptor_pool();
    for (message, rows) in tables() {
        let desc = pool
            .get_message_by_name(&format!("dronetel.v1.{message}"))
            .unwrap();
        let mut want: Vec<String> = desc
            .fields()
            .filter(|f| match f.kind() {
                Kind::Bool => false,
                // Nested bodies have their own table; Timestamp and
                // Duration are values with a row.
                Kind::Message(m) => m.full_name().starts_with("google.protobuf."),
                _ => true,
            })
            .map(|f| f.name().to_owned())
            .collect();
        let mut got: Vec<String> = rows.iter().map(|(f, _)| (*f).to_owned()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "rows of {message}");
    }
}

#[test]
fn the_proto_states_the_range_of_every_row_above_its_field() {
    let proto = include_str!("../../../../proto/telemetry.proto");
    for (message, rows) in tables() {
        let start = proto
            .find(&format!("\nmessage {message} {{"))
            .unwrap_or_else(|| panic!("message {message}"));
        let body = &proto[start..];
        let body = &body[..body.find("\n}").unwrap()];
        let lines: Vec<&str> = body.lines().map(str::trim).collect();
        for (field, valid) in rows {
            let at = lines
                .iter()
                .position(|l| l.ends_with(';') && l.contains(&format!(" {field} = ")))
                .unwrap_or_else(|| panic!("{message}.{field} not in the proto"));
            let comment = lines[..at]
                .iter()
                .rev()
                .take_while(|l| l.starts_with("//"))
                .collect::<Vec<_>>();
            let line = format!("// Valid: {valid}.");
            assert!(
                comment.iter().any(|l| **l == line),
                "{message}.{field}: the proto must say `{line}` above the field, has {comment:?}"
            );
        }
    }
}
