//! Property tests of the value contract, one per decoder (UBX included): well-formed,
//! checksummed messages built by the protocols' encoders from extreme values
//! of every field (limits of the wire types, just beyond the documented
//! ranges, NaN and infinities where the wire can carry them) go through the
//! decoder and the contract as the daemon runs them; every published value
//! must lie inside its documented range, and enforcing again must find
//! nothing left to remove.
#![allow(clippy::unwrap_used)]

use crate::common::{assert_in_contract, decode_stream, published};
use dronetel_proto::tracker::{TrackerObject, TrackerReport, Velocity};
use dronetel_wire::contract::enforce;
use dronetel_wire::mavlink::common::{
    GpsFixType, MavAutopilot, MavBatteryChargeState, MavBatteryMode, MavMessage, MavModeFlag,
    MavState, MavType, BATTERY_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GPS_RAW_INT_DATA,
    HEARTBEAT_DATA, SYS_STATUS_DATA,
};
use dronetel_wire::mavlink::{encode, MavlinkDecoder};
use dronetel_wire::nmea::encode::SentenceWriter;
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::tracker::{self, TrackerDecoder};
use dronetel_wire::ubx::encode::{nav_dop, nav_eoe, nav_pvt, nav_sat};
use dronetel_wire::ubx::message::{NavDop, NavPvt, SatEntry};
use dronetel_wire::ubx::UbxDecoder;
use dronetel_wire::Reading;
use mavlink::{MavHeader, MavlinkVersion};
use proptest::prelude::*;
use proptest::sample::select;

/// Asserts the contract on everything published, and that a published
/// reading is a fixed point of the contract.
fn check(readings: Vec<Reading>) -> Result<(), TestCaseError> {
    let (out, _) = published(readings);
    for r in out {
        assert_in_contract(&r);
        let again = enforce(r.clone());
        prop_assert_eq!(again.invalid, 0);
        prop_assert_eq!(again.reading, Some(r));
    }
    Ok(())
}

/// An integer strategy favouring the limits of its type and the small
/// values around the documented ranges.
macro_rules! extreme {
    ($t:ty) => {
        prop_oneof![
            3 => select(vec![<$t>::MIN, <$t>::MAX, 0 as $t, 1 as $t, <$t>::MAX - 1]),
            1 => any::<$t>(),
        ]
    };
}

// ------------------------------------------------------------------- NMEA

/// Number fields as a receiver (or an attacker) may write them.
fn nmea_number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec![
            "", "0", "-0", "-1", "-22.4", "0.0000001", "90", "90.0001", "91", "180", "181",
            "359.99", "360", "999", "100", "100.01", "255", "256", "1000.1", "-1000.1",
            "99999999", "-99999999", "999999999999999", "4294967295", "4294967296",
            "99999999999999999999999999999999999999.9",
        ])
        .prop_map(str::to_owned),
        1 => any::<f64>().prop_map(|v| format!("{v}")),
        1 => (-1e5f64..1e5).prop_map(|v| format!("{v:.2}")),
        1 => any::<u32>().prop_map(|v| v.to_string()),
    ]
}

/// `(d)ddmm.mmmm` values, including the largest the format can hold.
fn nmea_coordinate() -> impl Strategy<Value = (String, &'static str)> {
    let value = prop_oneof![
        select(vec![
            "",
            "9000.0000",
            "8959.9999999",
            "18000.0000",
            "17959.99999",
            "00000.000"
        ])
        .prop_map(str::to_owned),
        (0u32..181, 0u32..60, 0u32..100_000).prop_map(|(d, m, f)| format!("{d:03}{m:02}.{f:05}")),
    ];
    (value, select(vec!["N", "S", "E", "W"]))
}

fn nmea_time() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (0u32..24, 0u32..60, 0u32..61, 0u32..100)
            .prop_map(|(h, m, s, c)| format!("{h:02}{m:02}{s:02}.{c:02}")),
    ]
}

/// The fields of one sentence of every formatter the decoder reads.
fn nmea_sentence() -> impl Strategy<Value = (&'static str, Vec<String>)> {
    let n = nmea_number;
    let uint = || extreme!(u32).prop_map(|v| v.to_string());
    let date = || {
        prop_oneof![
            Just(String::new()),
            (1u32..29, 1u32..13, 0u32..100).prop_map(|(d, m, y)| format!("{d:02}{m:02}{y:02}")),
        ]
    };
    let year = || {
        prop_oneof![
            select(vec![
                "0",
                "1",
                "1980",
                "9999",
                "10000",
                "2147483647",
                "4294967295"
            ])
            .prop_map(str::to_owned),
            (0u32..100_000).prop_map(|y| y.to_string()),
        ]
    };
    let pos = || (nmea_coordinate(), nmea_coordinate());
    let flat =
        |(a, ah): (String, &str), (b, bh): (String, &str)| vec![a, ah.to_owned(), b, bh.to_owned()];
    prop_oneof![
        (nmea_time(), pos(), uint(), uint(), n(), n(), n()).prop_map(
            move |(t, (a, b), q, sats, hdop, alt, sep)| {
                let mut f = vec![t];
                f.extend(flat(a, b));
                f.extend([
                    q,
                    sats,
                    hdop,
                    alt,
                    "M".into(),
                    sep,
                    "M".into(),
                    String::new(),
                    String::new(),
                ]);
                ("GGA", f)
            }
        ),
        (nmea_time(), pos(), n(), n(), date()).prop_map(move |(t, (a, b), speed, course, d)| {
            let mut f = vec![t, "A".into()];
            f.extend(flat(a, b));
            f.extend([speed, course, d, String::new(), String::new(), "A".into()]);
            ("RMC", f)
        }),
        (prop::collection::vec(uint(), 12), n(), n(), n(), 0u32..8).prop_map(
            |(prns, pdop, hdop, vdop, system)| {
                let mut f = vec!["A".to_owned(), "3".to_owned()];
                f.extend(prns);
                f.extend([pdop, hdop, vdop, system.to_string()]);
                ("GSA", f)
            }
        ),
        (
            prop::collection::vec((uint(), n(), n(), n()), 1..=4),
            0u32..16
        )
            .prop_map(|(sats, signal)| {
                let mut f = vec!["1".to_owned(), "1".to_owned(), sats.len().to_string()];
                for (prn, el, az, snr) in sats {
                    f.extend([prn, el, az, snr]);
                }
                f.push(format!("{signal:X}"));
                ("GSV", f)
            }),
        (n(), n(), n()).prop_map(|(course, knots, kmh)| {
            let f = vec![
                course,
                "T".into(),
                String::new(),
                "M".into(),
                knots,
                "N".into(),
                kmh,
                "K".into(),
                "A".into(),
            ];
            ("VTG", f)
        }),
        (pos(), nmea_time()).prop_map(move |((a, b), t)| {
            let mut f = flat(a, b);
            f.extend([t, "A".into(), "A".into()]);
            ("GLL", f)
        }),
        (nmea_time(), prop::collection::vec(n(), 7)).prop_map(|(t, mut v)| {
            v.insert(0, t);
            ("GST", v)
        }),
        (nmea_time(), 1u32..29, 1u32..13, year()).prop_map(|(t, d, m, y)| {
            (
                "ZDA",
                vec![
                    t,
                    format!("{d:02}"),
                    format!("{m:02}"),
                    y,
                    "00".into(),
                    "00".into(),
                ],
            )
        }),
        (nmea_time(), pos(), uint(), n(), n(), n()).prop_map(
            move |(t, (a, b), sats, hdop, alt, sep)| {
                let mut f = vec![t];
                f.extend(flat(a, b));
                f.extend([
                    "AA".into(),
                    sats,
                    hdop,
                    alt,
                    sep,
                    String::new(),
                    String::new(),
                ]);
                ("GNS", f)
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nmea_readings_stay_inside_the_contract(
        sentences in prop::collection::vec((nmea_sentence(), select(vec!["GP", "GN", "GL", "GB"])), 1..12),
    ) {
        let mut bytes = Vec::new();
        for ((tag, fields), talker) in &sentences {
            let mut w = SentenceWriter::new(&mut bytes, talker.as_bytes(), tag.as_bytes());
            for f in fields {
                w.field(f.as_bytes());
            }
            w.finish();
        }
        check(decode_stream(NmeaDecoder::default(), &bytes))?;
    }
}

// ---------------------------------------------------------------- MAVLink

fn gps_raw() -> impl Strategy<Value = MavMessage> {
    let fix = select(vec![
        GpsFixType::GPS_FIX_TYPE_NO_FIX,
        GpsFixType::GPS_FIX_TYPE_2D_FIX,
        GpsFixType::GPS_FIX_TYPE_3D_FIX,
        GpsFixType::GPS_FIX_TYPE_RTK_FIXED,
    ]);
    (
        (
            extreme!(u64),
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
        ),
        (
            extreme!(u16),
            extreme!(u16),
            extreme!(u16),
            extreme!(u16),
            extreme!(u8),
        ),
        (extreme!(u32), extreme!(u32), fix),
    )
        .prop_map(
            |(
                (time_usec, lat, lon, alt, alt_ellipsoid),
                (eph, epv, vel, cog, sats),
                (h_acc, v_acc, fix_type),
            )| {
                MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
                    time_usec,
                    lat,
                    lon,
                    alt,
                    eph,
                    epv,
                    vel,
                    cog,
                    fix_type,
                    satellites_visible: sats,
                    alt_ellipsoid,
                    h_acc,
                    v_acc,
                    ..GPS_RAW_INT_DATA::default()
                })
            },
        )
}

fn global_position() -> impl Strategy<Value = MavMessage> {
    (
        extreme!(i32),
        extreme!(i32),
        extreme!(i32),
        extreme!(i16),
        extreme!(i16),
        extreme!(i16),
    )
        .prop_map(|(lat, lon, alt, vx, vy, vz)| {
            MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                lat,
                lon,
                alt,
                vx,
                vy,
                vz,
                ..GLOBAL_POSITION_INT_DATA::default()
            })
        })
}

fn sys_status() -> impl Strategy<Value = MavMessage> {
    (extreme!(u16), extreme!(i16), extreme!(i8)).prop_map(|(mv, ca, remaining)| {
        MavMessage::SYS_STATUS(SYS_STATUS_DATA {
            voltage_battery: mv,
            current_battery: ca,
            battery_remaining: remaining,
            ..SYS_STATUS_DATA::default()
        })
    })
}

fn battery_status() -> impl Strategy<Value = MavMessage> {
    let cells = prop::array::uniform10(extreme!(u16));
    let ext = prop::array::uniform4(extreme!(u16));
    let state = select(vec![
        MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_UNDEFINED,
        MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_CRITICAL,
        MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_CHARGING,
    ]);
    let mode = select(vec![
        MavBatteryMode::MAV_BATTERY_MODE_UNKNOWN,
        MavBatteryMode::MAV_BATTERY_MODE_HOT_SWAP,
    ]);
    (
        (extreme!(u8), cells, ext, extreme!(i16), extreme!(i16)),
        (
            extreme!(i32),
            extreme!(i32),
            extreme!(i8),
            extreme!(i32),
            state,
            mode,
        ),
    )
        .prop_map(
            |(
                (id, voltages, voltages_ext, current, temperature),
                (mah, hj, remaining, time, charge_state, mode),
            )| {
                MavMessage::BATTERY_STATUS(BATTERY_STATUS_DATA {
                    id,
                    voltages,
                    voltages_ext,
                    current_battery: current,
                    temperature,
                    current_consumed: mah,
                    energy_consumed: hj,
                    battery_remaining: remaining,
                    time_remaining: time,
                    charge_state,
                    mode,
                    ..BATTERY_STATUS_DATA::default()
                })
            },
        )
}

fn heartbeat() -> impl Strategy<Value = MavMessage> {
    let autopilot = select(vec![
        MavAutopilot::MAV_AUTOPILOT_GENERIC,
        MavAutopilot::MAV_AUTOPILOT_PX4,
        MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
    ]);
    let kind = select(vec![MavType::MAV_TYPE_GENERIC, MavType::MAV_TYPE_QUADROTOR]);
    let state = select(vec![
        MavState::MAV_STATE_UNINIT,
        MavState::MAV_STATE_EMERGENCY,
    ]);
    (extreme!(u32), autopilot, kind, state, extreme!(u8)).prop_map(
        |(custom_mode, autopilot, mavtype, system_status, version)| {
            MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                custom_mode,
                mavtype,
                autopilot,
                base_mode: MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED,
                system_status,
                mavlink_version: version,
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mavlink_readings_stay_inside_the_contract(
        frames in prop::collection::vec(
            (
                prop_oneof![gps_raw(), global_position(), sys_status(), battery_status(), heartbeat()],
                extreme!(u8),
                extreme!(u8),
                any::<bool>(),
            ),
            1..8,
        ),
    ) {
        let mut bytes = Vec::new();
        // The first frame's system is the autopilot (the decoder publishes
        // only the autopilot's messages).
        let (_, first_system, first_component, _) = frames[0];
        let autopilot = MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            autopilot: MavAutopilot::MAV_AUTOPILOT_PX4,
            ..HEARTBEAT_DATA::default()
        });
        let header = MavHeader { system_id: u32::from(first_system), component_id: first_component, sequence: 255 };
        encode::frame(MavlinkVersion::V2, header, &autopilot, &mut bytes);
        for (seq, (msg, system_id, component_id, v2)) in frames.iter().enumerate() {
            let header = MavHeader { system_id: u32::from(*system_id), component_id: *component_id, sequence: seq as u8 };
            let version = if *v2 { MavlinkVersion::V2 } else { MavlinkVersion::V1 };
            encode::frame(version, header, msg, &mut bytes);
        }
        check(decode_stream(MavlinkDecoder::default(), &bytes))?;
    }
}

// ---------------------------------------------------------------- tracker

fn tracker_float() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => select(vec![
            f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN, f32::MIN_POSITIVE,
            -0.0, 0.0, 1.0, 1.000_000_1, -1e-9, 5.0, -3.0, 100.0, 90.0, 91.0, 180.0, 181.0,
            1000.0, 1000.1, -1000.1,
        ]),
        1 => any::<f32>(),
        1 => 0f32..1.0,
    ]
}

fn tracker_object() -> impl Strategy<Value = TrackerObject> {
    let f = tracker_float;
    let label = prop_oneof![
        select(vec![0usize, 1, 31, 32, 33, 200]).prop_map(|n| "x".repeat(n)),
        "\\PC{0,40}",
    ];
    (
        (extreme!(u32), label, f(), f(), f(), f(), f()),
        (
            prop::option::of(f()),
            prop::option::of(f()),
            prop::option::of(f()),
        ),
        prop::option::of((f(), f(), f())),
    )
        .prop_map(
            |(
                (track_id, label, confidence, x, y, w, h),
                (range_m, bearing_deg, elevation_deg),
                v,
            )| {
                TrackerObject {
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
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tracker_readings_stay_inside_the_contract(
        reports in prop::collection::vec(
            (extreme!(u32), extreme!(u64), prop::collection::vec(tracker_object(), 0..6)),
            1..5,
        ),
    ) {
        let mut bytes = Vec::new();
        for (frame, timestamp_us, objects) in reports {
            let report = TrackerReport { frame, timestamp_us, objects };
            // Over-long reports cannot be framed; the rest of the stream
            // still is.
            let _ = tracker::encode(&report, &mut bytes);
        }
        check(decode_stream(TrackerDecoder::default(), &bytes))?;
    }
}

// -------------------------------------------------------------------- UBX

/// NAV-PVT with extreme values in every field the fix carries.
fn ubx_pvt() -> impl Strategy<Value = NavPvt> {
    (
        (
            extreme!(u32),
            extreme!(u16),
            extreme!(u8),
            extreme!(u8),
            extreme!(u8),
            extreme!(u8),
            extreme!(u8),
            extreme!(u8),
            extreme!(i32),
            select(vec![0u8, 1, 2, 3, 4, 5, 6, 255]),
            extreme!(u8),
            extreme!(u8),
        ),
        (
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
            extreme!(u32),
            extreme!(u32),
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
            extreme!(i32),
            extreme!(u32),
        ),
        (extreme!(u32), extreme!(u16)),
    )
        .prop_map(
            |(
                (itow, year, month, day, hour, min, sec, valid, nano, fix_type, flags, num_sv),
                (
                    lon,
                    lat,
                    height,
                    h_msl,
                    h_acc,
                    v_acc,
                    vel_n,
                    vel_e,
                    vel_d,
                    g_speed,
                    head_mot,
                    s_acc,
                ),
                (head_acc, p_dop),
            )| NavPvt {
                itow,
                year,
                month,
                day,
                hour,
                min,
                sec,
                valid,
                nano,
                fix_type,
                flags,
                num_sv,
                lon,
                lat,
                height,
                h_msl,
                h_acc,
                v_acc,
                vel_n,
                vel_e,
                vel_d,
                g_speed,
                head_mot,
                s_acc,
                head_acc,
                p_dop,
                ..NavPvt::default()
            },
        )
}

fn ubx_sat() -> impl Strategy<Value = SatEntry> {
    (
        extreme!(u8),
        extreme!(u8),
        extreme!(u8),
        extreme!(i8),
        extreme!(i16),
        extreme!(u32),
    )
        .prop_map(|(gnss_id, sv_id, cno, elev, azim, flags)| SatEntry {
            gnss_id,
            sv_id,
            cno,
            elev,
            azim,
            flags,
            ..SatEntry::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ubx_readings_stay_inside_the_contract(
        epochs in prop::collection::vec(
            (ubx_pvt(), prop::collection::vec(ubx_sat(), 0..8), extreme!(u16), extreme!(u16)),
            1..4,
        ),
    ) {
        let mut bytes = Vec::new();
        for (pvt, sats, h_dop, v_dop) in &epochs {
            bytes.extend(nav_pvt(pvt));
            bytes.extend(nav_sat(pvt.itow, sats));
            bytes.extend(nav_dop(&NavDop {
                itow: pvt.itow,
                h_dop: *h_dop,
                v_dop: *v_dop,
                p_dop: pvt.p_dop,
                ..NavDop::default()
            }));
            bytes.extend(nav_eoe(pvt.itow));
        }
        check(decode_stream(UbxDecoder::default(), &bytes))?;
    }
}
