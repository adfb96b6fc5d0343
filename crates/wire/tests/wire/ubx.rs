//! UBX and combined u-blox decoders: round trips through the encoder, every
//! chunk size, junk, corrupted and over-long frames, epoch ends (NAV-EOE,
//! learned enders, idle gap), and NMEA on the same port. Each case asserts
//! both the fixes and the counters.
#![allow(clippy::unwrap_used)]

use crate::common::{decode_with, sentence};
use bytes::BytesMut;
use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix};
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::ubx::encode::{frame, nav_dop, nav_eoe, nav_pvt, nav_sat, nav_timegps};
use dronetel_wire::ubx::message::{NavDop, NavPvt, NavTimeGps, SatEntry};
use dronetel_wire::ubx::{UbloxDecoder, UbxDecoder, UbxOptions};
use dronetel_wire::{Reading, SensorDecoder, Stats};
use tokio_util::codec::Decoder;

/// 2025-04-11T23:14:00Z in Unix seconds.
const T0: i64 = 1_744_413_240;
/// GPS time of week (ms) of T0: Friday 23:14:18 GPS (18 leap seconds).
const ITOW0: u32 = (5 * 86_400 + 23 * 3600 + 14 * 60 + 18) * 1000;

fn pvt(sec: u8) -> NavPvt {
    NavPvt {
        itow: ITOW0 + u32::from(sec) * 1000,
        year: 2025,
        month: 4,
        day: 11,
        hour: 23,
        min: 14,
        sec,
        valid: 0x07,
        nano: -1200,
        fix_type: 3,
        // gnssFixOK, diffSoln, carrSoln = float.
        flags: 0x01 | 0x02 | 0x40,
        num_sv: 17,
        lat: 450_657_718,
        lon: 76_590_617,
        height: 304_600,
        h_msl: 257_400,
        h_acc: 1_500,
        v_acc: 2_250,
        vel_n: 300,
        vel_e: -400,
        vel_d: 50,
        g_speed: 500,
        head_mot: 32_313_010,
        s_acc: 120,
        head_acc: 1_500_000,
        p_dop: 142,
        ..NavPvt::default()
    }
}

fn sats(sec: u8) -> Vec<SatEntry> {
    vec![
        SatEntry {
            gnss_id: 0,
            sv_id: 5,
            cno: 42,
            elev: 31,
            azim: 311,
            flags: 0x08,
            ..SatEntry::default()
        },
        SatEntry {
            gnss_id: 6,
            sv_id: 4,
            cno: 0,
            elev: -91,
            azim: 0,
            flags: 0,
            ..SatEntry::default()
        },
        SatEntry {
            gnss_id: 2,
            sv_id: 11,
            cno: 30 + sec,
            elev: 41,
            azim: 238,
            flags: 0x08,
            ..SatEntry::default()
        },
    ]
}

fn dop(sec: u8) -> NavDop {
    NavDop {
        itow: pvt(sec).itow,
        g_dop: 160,
        p_dop: 142,
        t_dop: 80,
        v_dop: 117,
        h_dop: 82,
        n_dop: 60,
        e_dop: 55,
    }
}

/// One epoch as a u-blox 8 sends it: PVT, SAT, DOP, EOE.
fn epoch(sec: u8) -> Vec<u8> {
    let p = pvt(sec);
    [
        nav_pvt(&p),
        nav_sat(p.itow, &sats(sec)),
        nav_dop(&dop(sec)),
        nav_eoe(p.itow),
    ]
    .concat()
}

/// Decodes at every chunk size from 1 to the whole stream; all must agree.
fn all_sizes<D: SensorDecoder>(make: impl Fn() -> D, input: &[u8]) -> (Vec<GpsFix>, Stats) {
    let whole = decode_with(make(), input, input.len());
    for chunk in 1..input.len() {
        assert_eq!(
            decode_with(make(), input, chunk),
            whole,
            "chunk size {chunk} differs from the whole stream"
        );
    }
    whole
}

fn ubx() -> UbxDecoder {
    UbxDecoder::default()
}

fn ublox() -> UbloxDecoder {
    UbloxDecoder::default()
}

#[test]
fn one_epoch_round_trips_at_every_chunk_size() {
    let input = epoch(9);
    for (fixes, st) in [all_sizes(ubx, &input), all_sizes(ublox, &input)] {
        assert_eq!(fixes.len(), 1);
        assert_eq!(st.messages_ok, 4);
        assert_eq!(st.bytes, input.len() as u64);
        assert_eq!(
            (
                st.checksum_errors,
                st.framing_errors,
                st.unknown_messages,
                st.decode_errors
            ),
            (0, 0, 0, 0)
        );
        let f = &fixes[0];
        // 23:14:09 minus 1200 ns.
        let t = f.time.unwrap();
        assert_eq!((t.seconds, t.nanos), (T0 + 8, 999_998_800));
        assert_eq!(f.mode, FixMode::FixMode3d as i32);
        assert_eq!(f.quality, FixQuality::RtkFloat as i32);
        assert_eq!(f.gnss_fix_ok, Some(true));
        assert!((f.latitude_deg.unwrap() - 45.065_771_8).abs() < 1e-12);
        assert!((f.longitude_deg.unwrap() - 7.659_061_7).abs() < 1e-12);
        assert!((f.altitude_msl_m.unwrap() - 257.4).abs() < 1e-9);
        assert!((f.altitude_hae_m.unwrap() - 304.6).abs() < 1e-9);
        assert!((f.geoid_separation_m.unwrap() - 47.2).abs() < 1e-9);
        assert_eq!(f.speed_mps, Some(0.5));
        assert!((f.course_deg.unwrap() - 323.130_1).abs() < 1e-9);
        assert_eq!(f.climb_mps, Some(-0.05));
        assert_eq!(f.velocity_north_mps, Some(0.3));
        assert_eq!(f.velocity_east_mps, Some(-0.4));
        assert_eq!(f.velocity_down_mps, Some(0.05));
        assert_eq!(f.horizontal_error_m, Some(1.5));
        assert_eq!(f.vertical_error_m, Some(2.25));
        assert_eq!(f.speed_error_mps, Some(0.12));
        assert_eq!(f.course_error_deg, Some(15.0));
        assert_eq!(
            (f.hdop, f.vdop, f.pdop),
            (Some(0.82), Some(1.17), Some(1.42))
        );
        assert_eq!(f.satellites_used, Some(17));
        assert_eq!(f.satellites_visible, Some(3));
        assert_eq!(f.cycle_end, "NAV-EOE");
        let sky: Vec<_> = f
            .sky
            .iter()
            .map(|s| (s.constellation, s.prn, s.elevation_deg, s.snr_dbhz, s.used))
            .collect();
        assert_eq!(
            sky,
            [
                (Constellation::Gps as i32, 5, Some(31.0), Some(42.0), true),
                // GLONASS slot 4 is NMEA 68; elevation -91 is "unknown".
                (Constellation::Glonass as i32, 68, None, None, false),
                (
                    Constellation::Galileo as i32,
                    11,
                    Some(41.0),
                    Some(39.0),
                    true
                ),
            ]
        );
    }
}

#[test]
fn back_to_back_epochs_give_one_fix_each() {
    let input: Vec<u8> = (10..15).flat_map(epoch).collect();
    let (fixes, st) = decode_with(ubx(), &input, 7);
    assert_eq!(fixes.len(), 5);
    assert_eq!(st.messages_ok, 20);
    let secs: Vec<i64> = fixes.iter().map(|f| f.time.unwrap().seconds).collect();
    assert_eq!(secs, (T0 + 9..T0 + 14).collect::<Vec<_>>());
}

#[test]
fn junk_between_frames_is_counted_once_per_run() {
    let mut input = b"# capture header\r\n".to_vec();
    input.extend(epoch(1));
    // A lone B5, a B5 not followed by 62, and binary junk: one run.
    input.extend([0xB5, 0x00, 0x13, 0xB5, b'x', 0xff]);
    input.extend(epoch(2));
    input.extend(b"$GPTXT,01,01,02,ANTSTATUS=OK*3B\r\n");
    input.extend(epoch(3));
    let (fixes, st) = all_sizes(ubx, &input);
    assert_eq!(fixes.len(), 3);
    assert_eq!(st.messages_ok, 12);
    // UBX only: header, junk, NMEA text are three runs.
    assert_eq!(st.framing_errors, 3);
    assert_eq!(st.bytes, input.len() as u64);
    // Combined: the NMEA framer counts the header line and the binary junk;
    // the TXT sentence is well formed and unknown.
    let (fixes, st) = all_sizes(ublox, &input);
    assert_eq!(fixes.len(), 3);
    assert_eq!(st.messages_ok, 12);
    assert_eq!(st.framing_errors, 2);
    assert_eq!(st.unknown_messages, 1);
}

#[test]
fn bad_checksum_drops_one_frame_and_resyncs_after_its_sync() {
    let mut input = epoch(1);
    let pvt_len = 8 + 92;
    // Corrupt a payload byte of the PVT: the SAT, DOP, EOE behind it live.
    input[20] ^= 0x55;
    input.extend(epoch(2));
    let (fixes, st) = all_sizes(ubx, &input);
    assert_eq!(st.checksum_errors, 1);
    assert_eq!(st.framing_errors, 0, "the rejected bytes are one error");
    assert_eq!(st.messages_ok, 7);
    assert_eq!(fixes.len(), 2);
    assert_eq!(fixes[0].latitude_deg, None, "epoch 1 lost its position");
    assert!(fixes[1].latitude_deg.is_some());
    assert!(pvt_len < input.len());
}

#[test]
fn a_corrupted_length_does_not_swallow_the_frames_behind_it() {
    let mut input = epoch(1);
    // PVT length 92 -> 2000: the frame would run over the SAT, DOP, EOE
    // and the next epoch. Its checksum fails, the search resumes after its
    // sync and finds all of them.
    input[4..6].copy_from_slice(&2000u16.to_le_bytes());
    input.extend(epoch(2));
    input.extend(vec![0u8; 2000]);
    let (fixes, st) = decode_with(ubx(), &input, 64);
    assert_eq!(st.checksum_errors, 1);
    assert_eq!(st.messages_ok, 7);
    assert_eq!(fixes.len(), 2);
    assert_eq!(st.bytes, input.len() as u64);
    // Over the bound: rejected at the header, no waiting for 60000 bytes.
    let mut input = epoch(1);
    input[4..6].copy_from_slice(&60_000u16.to_le_bytes());
    input.extend(epoch(2));
    let opts = || {
        UbxDecoder::new(UbxOptions {
            max_payload: 1024,
            ..UbxOptions::default()
        })
    };
    let (fixes, st) = all_sizes(opts, &input);
    assert_eq!(st.framing_errors, 1);
    assert_eq!(st.checksum_errors, 0);
    assert_eq!(st.messages_ok, 7);
    assert_eq!(fixes.len(), 2);
}

#[test]
fn truncated_frame_at_the_end_is_counted() {
    let mut input = epoch(1);
    input.extend_from_slice(&nav_pvt(&pvt(2))[..50]);
    let (fixes, st) = all_sizes(ubx, &input);
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.framing_errors, 1);
}

#[test]
fn unknown_and_short_messages_are_counted_and_skipped() {
    let mut input = frame(0x02, 0x13, &[0; 40]).unwrap(); // RXM-SFRBX
    input.extend(frame(0x01, 0x07, &[0; 60]).unwrap()); // NAV-PVT, 60 < 84
    input.extend(epoch(1));
    let (fixes, st) = all_sizes(ubx, &input);
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.unknown_messages, 1);
    assert_eq!(st.decode_errors, 1);
    assert_eq!(st.messages_ok, 4);
}

/// Feeds `input` without ending the stream.
fn open(dec: &mut impl SensorDecoder, input: &[u8]) -> Vec<GpsFix> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(Reading::Gps(f)) = dec.decode(&mut buf).unwrap() {
        out.push(f);
    }
    out
}

/// PVT + DOP + TIMEGPS, no EOE (u-blox 7 style).
fn epoch_without_eoe(sec: u8) -> Vec<u8> {
    let p = pvt(sec);
    let t = NavTimeGps {
        itow: p.itow,
        week: 2361,
        leap_s: 18,
        valid: 0x07,
        ..NavTimeGps::default()
    };
    [nav_pvt(&p), nav_dop(&dop(sec)), nav_timegps(&t)].concat()
}

#[test]
fn without_eoe_the_last_message_is_learned() {
    let mut d = ubx();
    assert!(open(&mut d, &epoch_without_eoe(1)).is_empty());
    assert!(d.holds_pending());
    // The next epoch's first message closes the first and teaches
    // NAV-TIMEGPS; from then on an epoch is out at its TIMEGPS.
    let f = open(&mut d, &epoch_without_eoe(2));
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].cycle_end, "NAV-TIMEGPS");
    assert_eq!(f[1].time.unwrap().seconds, T0 + 1);
    assert!(!d.holds_pending());
    let f = open(&mut d, &epoch_without_eoe(3));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].time.unwrap().seconds, T0 + 2);
}

#[test]
fn idle_gap_publishes_and_teaches_the_ender() {
    let mut d = ubx();
    assert!(open(&mut d, &epoch_without_eoe(1)).is_empty());
    let Some(Reading::Gps(f)) = d.flush_idle() else {
        panic!("the idle gap publishes the epoch");
    };
    assert_eq!(f.time.unwrap().seconds, T0);
    assert!(d.flush_idle().is_none());
    assert_eq!(open(&mut d, &epoch_without_eoe(2)).len(), 1);
}

#[test]
fn a_late_message_unlearns_the_ender() {
    let mut d = ubx();
    let mut input = epoch_without_eoe(1);
    input.extend(epoch_without_eoe(2));
    assert_eq!(open(&mut d, &input).len(), 2);
    // Epoch 3 adds a NAV-SAT after its TIMEGPS: the ender fired early.
    let mut late = epoch_without_eoe(3);
    late.extend(nav_sat(pvt(3).itow, &sats(3)));
    let f = open(&mut d, &late);
    assert_eq!(f.len(), 1);
    assert!(f[0].sky.is_empty());
    // Epoch 4 waits for the next boundary; NAV-TIMEGPS is learned again.
    assert!(open(&mut d, &epoch_without_eoe(4)).is_empty());
    assert_eq!(open(&mut d, &epoch_without_eoe(5)).len(), 2);
}

/// GGA and RMC of second `sec` of 23:14.
fn nmea_cycle(sec: u8) -> String {
    [
        format!(
            "GNGGA,2314{sec:02}.00,4503.94631,N,00739.54370,E,5,12,0.87,257.4,M,47.2,M,1.0,0041"
        ),
        format!("GNRMC,2314{sec:02}.00,A,4503.94631,N,00739.54370,E,0.015,,110425,,,F,V"),
    ]
    .map(|s| sentence(&s))
    .concat()
}

#[test]
fn nmea_only_under_ublox_decodes_as_nmea() {
    let input = nmea_cycle(9) + &nmea_cycle(10);
    let (a, sa) = all_sizes(ublox, input.as_bytes());
    let (b, sb) = decode_with(NmeaDecoder::default(), input.as_bytes(), 5);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert_eq!(a.len(), 2);
}

#[test]
fn nmea_and_ubx_of_one_epoch_give_one_fix_with_ubx_values() {
    // The order of a ZED-F9R: PVT, the NMEA cycle, the rest of the UBX
    // epoch. The first NMEA cycle only ends when the next begins (its last
    // sentence is not learned yet), after its UBX epoch was published: it
    // is dropped. From the second epoch on, each NMEA cycle closes at its
    // learned RMC, before the EOE, and joins its UBX epoch.
    let mut input = Vec::new();
    for sec in 9..12 {
        let p = pvt(sec);
        input.extend(nav_pvt(&p));
        input.extend(nmea_cycle(sec).into_bytes());
        input.extend(nav_dop(&dop(sec)));
        input.extend(nav_eoe(p.itow));
    }
    let (fixes, st) = all_sizes(ublox, &input);
    assert_eq!(st.messages_ok, 3 * 5);
    assert_eq!(fixes.len(), 3, "{fixes:?}");
    for (i, f) in fixes.iter().enumerate() {
        assert_eq!(f.time.unwrap().seconds, T0 + 8 + i as i64);
        assert!(
            (f.latitude_deg.unwrap() - 45.065_771_8).abs() < 1e-12,
            "UBX wins"
        );
        assert_eq!(f.talker, if i == 0 { "" } else { "GN" }, "NMEA joined");
    }
}

#[test]
fn a_ubx_sync_inside_a_sentence_cuts_it_short() {
    let mut input = b"$GNGGA,231409.00,45".to_vec();
    input.extend(epoch(1));
    input.extend(nmea_cycle(2).into_bytes());
    let (fixes, st) = all_sizes(ublox, &input);
    assert_eq!(st.framing_errors, 1);
    assert_eq!(st.messages_ok, 6);
    assert!(!fixes.is_empty());
}

#[test]
fn decoder_never_keeps_input() {
    let mut d = ublox();
    let mut buf = BytesMut::from(&epoch(1)[..30]);
    assert!(d.decode(&mut buf).unwrap().is_none());
    assert!(buf.is_empty());
}

/// A NAV-SOL payload (u-blox 4 to 8): ECEF only, time from the week.
fn nav_sol(itow: u32, week: i16, ecef_cm: [i32; 3], vel_cms: [i32; 3]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(itow.to_le_bytes());
    p.extend(250_000i32.to_le_bytes()); // fTOW, ns
    p.extend(week.to_le_bytes());
    p.extend([3, 0x0d]); // 3D; GPSfixOK, WKNSET, TOWSET
    for c in ecef_cm {
        p.extend(c.to_le_bytes());
    }
    p.extend(99u32.to_le_bytes()); // pAcc, cm
    for v in vel_cms {
        p.extend(v.to_le_bytes());
    }
    p.extend(7u32.to_le_bytes()); // sAcc, cm/s
    p.extend(150u16.to_le_bytes()); // pDOP
    p.extend([0, 9]); // reserved, numSV
    p.extend([0; 4]);
    frame(0x01, 0x06, &p).unwrap()
}

#[test]
fn ecef_only_receivers_get_geodetic_position_speed_and_course() {
    // ublox-neo-m8t-s.log's position; 3 m/s due east there is
    // (-sin lon, cos lon, 0) in ECEF.
    let lon = (-121.314_317_437f64).to_radians();
    let vel = [
        (-lon.sin() * 300.0).round() as i32,
        (lon.cos() * 300.0).round() as i32,
        0,
    ];
    let itow = 353_735_000;
    let mut input = nav_sol(itow, 2039, [-238_607_116, -392_218_940, 441_436_102], vel);
    input.extend(nav_sol(
        itow + 1000,
        2039,
        [-238_607_116, -392_218_940, 441_436_102],
        vel,
    ));
    let (fixes, st) = all_sizes(ubx, &input);
    assert_eq!(st.messages_ok, 2);
    assert_eq!(fixes.len(), 2);
    let f = &fixes[0];
    assert_eq!(f.mode, FixMode::FixMode3d as i32);
    assert!((f.latitude_deg.unwrap() - 44.068_817_081).abs() < 1e-9);
    assert!((f.longitude_deg.unwrap() - -121.314_317_437).abs() < 1e-9);
    assert!((f.altitude_hae_m.unwrap() - 1110.2328).abs() < 1e-3);
    assert_eq!(f.altitude_msl_m, None, "no geoid model: no MSL from ECEF");
    assert!((f.speed_mps.unwrap() - 3.0).abs() < 0.01);
    assert!((f.course_deg.unwrap() - 90.0).abs() < 0.5);
    assert!(f.climb_mps.unwrap().abs() < 0.01);
    assert_eq!(f.position_error_3d_m, Some(0.99));
    assert_eq!(f.satellites_used, Some(9));
    assert_eq!(f.pdop, Some(1.5));
    // Week 2039, 353735.000250 s, minus 18 leap seconds (the default).
    let t = f.time.unwrap();
    assert_eq!(t.seconds, 315_964_800 + 2039 * 604_800 + 353_735 - 18);
    assert_eq!(t.nanos, 250_000);
    assert_eq!(f.cycle_end, "NAV-SOL");
    assert_eq!(f.gnss_fix_ok, Some(true));
}

#[test]
fn a_fix_type_without_gnss_fix_ok_keeps_its_mode_and_says_so() {
    let mut p = pvt(1);
    p.flags = 0;
    p.fix_type = 2;
    let (fixes, _) = decode_with(ubx(), &[nav_pvt(&p), nav_eoe(p.itow)].concat(), 100);
    assert_eq!(fixes[0].mode, FixMode::FixMode2d as i32);
    assert_eq!(fixes[0].quality, FixQuality::Gps as i32);
    assert_eq!(fixes[0].gnss_fix_ok, Some(false));
    // No fix type at all: no fix, no flag.
    let (fixes, _) = decode_with(ubx(), &nav_dop(&dop(1)), 100);
    assert_eq!(fixes[0].mode, FixMode::Unspecified as i32);
    assert_eq!(fixes[0].gnss_fix_ok, None);
}

#[test]
fn high_precision_position_and_ned_velocity() {
    let p = pvt(5);
    let mut hp = vec![0, 0, 0, 0];
    hp.extend(p.itow.to_le_bytes());
    for v in [76_590_617i32, 450_657_718, 304_600, 257_400] {
        hp.extend(v.to_le_bytes());
    }
    hp.extend([5u8, (-3i8) as u8, 7, 2]); // lonHp, latHp 1e-9°; heights 0.1 mm
    hp.extend(123u32.to_le_bytes()); // hAcc, 0.1 mm
    hp.extend(456u32.to_le_bytes()); // vAcc
    let mut vn = p.itow.to_le_bytes().to_vec();
    for v in [100i32, 200, -50] {
        vn.extend(v.to_le_bytes()); // cm/s
    }
    vn.extend(230u32.to_le_bytes()); // 3D speed
    vn.extend(224u32.to_le_bytes()); // ground speed, cm/s
    vn.extend(6_343_495i32.to_le_bytes()); // heading, 1e-5°
    vn.extend(10u32.to_le_bytes()); // sAcc, cm/s
    vn.extend(100_000u32.to_le_bytes()); // cAcc, 1e-5°
                                         // A NAV-PVT in the same epoch: HPPOSLLH's position wins over it.
    let input = [
        frame(0x01, 0x14, &hp).unwrap(),
        nav_pvt(&p),
        frame(0x01, 0x12, &vn).unwrap(),
        nav_eoe(p.itow),
    ]
    .concat();
    let (fixes, st) = all_sizes(ubx, &input);
    assert_eq!(st.messages_ok, 4);
    let f = &fixes[0];
    assert!((f.latitude_deg.unwrap() - (45.065_771_8 - 3e-9)).abs() < 1e-12);
    assert!((f.longitude_deg.unwrap() - (7.659_061_7 + 5e-9)).abs() < 1e-12);
    assert!((f.altitude_hae_m.unwrap() - 304.6007).abs() < 1e-9);
    assert!((f.altitude_msl_m.unwrap() - 257.4002).abs() < 1e-9);
    assert!((f.horizontal_error_m.unwrap() - 0.0123).abs() < 1e-12);
    assert!((f.vertical_error_m.unwrap() - 0.0456).abs() < 1e-12);
    // NAV-PVT's velocity outranks NAV-VELNED's.
    assert_eq!(f.speed_mps, Some(0.5));
    // Without the PVT, VELNED gives the velocity.
    let input = [frame(0x01, 0x12, &vn).unwrap(), nav_eoe(p.itow)].concat();
    let (fixes, _) = all_sizes(ubx, &input);
    let f = &fixes[0];
    assert_eq!(
        f.mode,
        FixMode::Unspecified as i32,
        "VELNED carries no fix type"
    );
    assert_eq!(f.speed_mps, None, "no fix: no speed");
    let input = [
        frame(0x01, 0x12, &vn).unwrap(),
        // NAV-STATUS: 3D fix, gpsFixOk.
        frame(
            0x01,
            0x03,
            &[p.itow.to_le_bytes().as_slice(), &[3, 0x0d, 0, 0], &[0; 8]].concat(),
        )
        .unwrap(),
        nav_eoe(p.itow),
    ]
    .concat();
    let (fixes, _) = all_sizes(ubx, &input);
    let f = &fixes[0];
    assert_eq!(f.mode, FixMode::FixMode3d as i32);
    assert_eq!(f.speed_mps, Some(2.24));
    assert_eq!(f.course_deg, Some(63.434_95));
    assert_eq!(f.climb_mps, Some(0.5));
    assert_eq!(f.velocity_east_mps, Some(2.0));
    assert_eq!(f.speed_error_mps, Some(0.1));
    assert_eq!(f.course_error_deg, Some(1.0));
}

/// An HNR-PVT payload (NEO-M8L/M8U): 3D fix at `itow`, no valid time.
fn hnr_pvt(itow: u32) -> Vec<u8> {
    let mut p = itow.to_le_bytes().to_vec();
    p.extend([0; 12]); // date, time, valid 0, nano
    p.extend([3, 0x01, 0, 0]); // gpsFix 3D, GPSfixOK
    for v in [
        76_590_617i32,
        450_657_718,
        304_600,
        257_400,
        1_000,
        1_000,
        9_000_000,
    ] {
        p.extend(v.to_le_bytes()); // lon, lat, height, hMSL, gSpeed, speed, headMot
    }
    p.extend([0; 24]); // headVeh, accuracies, reserved
    frame(0x28, 0x00, &p).unwrap()
}

#[test]
fn high_rate_epochs_do_not_swallow_the_navigation_epoch_of_their_time() {
    // HNR-PVT runs at 10 Hz and learns itself as an ender; the navigation
    // epoch of the same iTOW that follows the HNR one is its own epoch,
    // not a late message of the HNR epoch.
    let t = pvt(1).itow;
    let mut p = pvt(1);
    p.itow = t + 100;
    let input = [
        hnr_pvt(t),
        hnr_pvt(t + 100),
        nav_pvt(&p),
        nav_dop(&NavDop {
            itow: t + 100,
            ..dop(1)
        }),
        nav_eoe(t + 100),
        hnr_pvt(t + 200),
    ]
    .concat();
    let mut d = ubx();
    let fixes = open(&mut d, &input);
    let ends: Vec<&str> = fixes.iter().map(|f| f.cycle_end.as_str()).collect();
    assert_eq!(ends, ["HNR-PVT", "HNR-PVT", "NAV-EOE", "HNR-PVT"]);
    assert_eq!(
        fixes[2].hdop,
        Some(0.82),
        "the navigation epoch kept its DOP"
    );
    assert_eq!(fixes[2].satellites_used, Some(17));
    assert_eq!(
        fixes[1].satellites_used, None,
        "HNR carries no satellite count"
    );
}

mod fix_round_trip {
    use super::*;
    use dronetel_proto::v1::SatelliteInfo;
    use dronetel_wire::ubx::encode::epoch_of_fix;
    use proptest::prelude::*;
    use prost_types::Timestamp;

    /// A fix as a receiver could report it, at the resolutions of NAV-PVT
    /// (so that encoding loses nothing but float noise).
    fn any_fix() -> impl Strategy<Value = GpsFix> {
        (
            // 2000..2100, whole milliseconds.
            946_684_800i64..4_102_444_800,
            0u32..1000,
            prop::sample::select(vec![
                (FixMode::FixMode3d, FixQuality::RtkFixed),
                (FixMode::FixMode3d, FixQuality::RtkFloat),
                (FixMode::FixMode3d, FixQuality::Gps),
                (FixMode::FixMode3d, FixQuality::Manual),
                (FixMode::FixMode2d, FixQuality::Dgps),
                (FixMode::FixMode2d, FixQuality::DeadReckoning),
            ]),
            (
                -900_000_000i32..900_000_000,
                -1_800_000_000i32..1_800_000_000,
            ),
            (-1_000_000i32..9_000_000, -100_000i32..100_000),
            (-50_000i32..50_000, -50_000i32..50_000, -10_000i32..10_000),
            (1u16..9999, 1u16..9999, 1u16..9999),
            (0u32..100_000, 0u32..100_000, 0u32..10_000, 0u32..18_000_000),
            0u32..60,
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        (Constellation::Gps, 1u32),
                        (Constellation::Glonass, 65),
                        (Constellation::Galileo, 1),
                        (Constellation::Beidou, 1),
                        (Constellation::Sbas, 120),
                    ]),
                    0u32..24,
                    -90i32..=90,
                    0i32..360,
                    1u32..60,
                    any::<bool>(),
                ),
                0..12,
            ),
        )
            .prop_map(
                |(
                    secs,
                    ms,
                    (mode, quality),
                    (lat, lon),
                    (hae, sep),
                    (vn, ve, vd),
                    dops,
                    accs,
                    used,
                    sky,
                )| {
                    let (n, e) = (f64::from(vn) / 1e3, f64::from(ve) / 1e3);
                    let course = e.atan2(n).to_degrees().rem_euclid(360.0);
                    let msl = f64::from(hae - sep) / 1e3;
                    GpsFix {
                        time: Some(Timestamp {
                            seconds: secs,
                            nanos: (ms * 1_000_000) as i32,
                        }),
                        mode: mode as i32,
                        quality: quality as i32,
                        latitude_deg: Some(f64::from(lat) / 1e7),
                        longitude_deg: Some(f64::from(lon) / 1e7),
                        altitude_hae_m: Some(f64::from(hae) / 1e3),
                        altitude_msl_m: Some(msl),
                        geoid_separation_m: Some(f64::from(hae) / 1e3 - msl),
                        speed_mps: Some(n.hypot(e)),
                        course_deg: Some(course),
                        climb_mps: Some(-f64::from(vd) / 1e3),
                        velocity_north_mps: Some(n),
                        velocity_east_mps: Some(e),
                        velocity_down_mps: Some(f64::from(vd) / 1e3),
                        hdop: Some(f64::from(dops.0) / 100.0),
                        vdop: Some(f64::from(dops.1) / 100.0),
                        pdop: Some(f64::from(dops.2) / 100.0),
                        horizontal_error_m: Some(f64::from(accs.0) / 1e3),
                        vertical_error_m: Some(f64::from(accs.1) / 1e3),
                        speed_error_mps: Some(f64::from(accs.2) / 1e3),
                        course_error_deg: Some(f64::from(accs.3) / 1e5),
                        satellites_used: Some(used),
                        satellites_visible: None,
                        sky: sky
                            .into_iter()
                            .map(|((c, base), n, el, az, snr, used)| SatelliteInfo {
                                constellation: c as i32,
                                prn: base + n,
                                elevation_deg: Some(f64::from(el)),
                                azimuth_deg: Some(f64::from(az)),
                                snr_dbhz: Some(f64::from(snr)),
                                used,
                                signal_id: None,
                            })
                            .collect(),
                        gnss_fix_ok: Some(true),
                        cycle_end: "NAV-EOE".into(),
                        ..GpsFix::default()
                    }
                },
            )
    }

    fn close(a: Option<f64>, b: Option<f64>, tol: f64, what: &str) {
        match (a, b) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= tol, "{what}: {a} vs {b}"),
            _ => assert_eq!(a.is_some(), b.is_some(), "{what}: {a:?} vs {b:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_fix_survives_encode_and_decode(fix in any_fix(), leap in 10i32..20) {
            let bytes = epoch_of_fix(&fix, leap);
            let (out, st) = decode_with(
                UbxDecoder::new(UbxOptions { default_leap_seconds: leap, ..UbxOptions::default() }),
                &bytes,
                bytes.len(),
            );
            prop_assert_eq!(st.messages_ok, if fix.sky.is_empty() { 3 } else { 4 });
            prop_assert_eq!(out.len(), 1);
            let got = &out[0];
            prop_assert_eq!(got.time, fix.time);
            prop_assert_eq!(got.mode, fix.mode);
            prop_assert_eq!(got.quality, fix.quality);
            prop_assert_eq!(got.gnss_fix_ok, fix.gnss_fix_ok);
            prop_assert_eq!(got.satellites_used, fix.satellites_used);
            prop_assert_eq!(&got.cycle_end, &fix.cycle_end);
            close(got.latitude_deg, fix.latitude_deg, 1e-12, "lat");
            close(got.longitude_deg, fix.longitude_deg, 1e-12, "lon");
            for (a, b, w) in [
                (got.altitude_hae_m, fix.altitude_hae_m, "hae"),
                (got.altitude_msl_m, fix.altitude_msl_m, "msl"),
                (got.geoid_separation_m, fix.geoid_separation_m, "sep"),
                (got.velocity_north_mps, fix.velocity_north_mps, "vn"),
                (got.velocity_east_mps, fix.velocity_east_mps, "ve"),
                (got.velocity_down_mps, fix.velocity_down_mps, "vd"),
                (got.climb_mps, fix.climb_mps, "climb"),
                (got.horizontal_error_m, fix.horizontal_error_m, "hacc"),
                (got.vertical_error_m, fix.vertical_error_m, "vacc"),
                (got.speed_error_mps, fix.speed_error_mps, "sacc"),
                (got.hdop, fix.hdop, "hdop"),
                (got.vdop, fix.vdop, "vdop"),
                (got.pdop, fix.pdop, "pdop"),
            ] {
                close(a, b, 1e-9, w);
            }
            // Ground speed to 1 mm/s and heading to 1e-5 degree on the wire.
            close(got.speed_mps, fix.speed_mps, 1e-3, "speed");
            close(got.course_deg, fix.course_deg, 1e-5, "course");
            close(got.course_error_deg, fix.course_error_deg, 1e-9, "headacc");
            prop_assert_eq!(&got.sky, &fix.sky);
        }
    }
}

fn configuring() -> UbloxDecoder {
    UbloxDecoder::new(UbxOptions {
        configure: true,
        ..UbxOptions::default()
    })
}

#[test]
fn configure_queues_the_requests_on_open_and_reads_the_answers() {
    use dronetel_wire::ubx::setup::{self, SetupOutcome, CFG, CFG_MSG, CFG_VALSET};
    // Off by default: read-only.
    let mut d = ublox();
    d.on_open();
    assert_eq!(d.take_output(), None);
    // On: the requests once per connection.
    let mut d = configuring();
    d.on_open();
    assert_eq!(d.take_output(), Some(setup::requests()));
    assert_eq!(d.take_output(), None);
    // An M8 refuses CFG-VALSET (unknown to it) and takes the CFG-MSG.
    let mut answers = Vec::new();
    setup::ack(&mut answers, CFG, CFG_VALSET, false);
    for _ in 0..4 {
        setup::ack(&mut answers, CFG, CFG_MSG, true);
    }
    answers.extend(epoch(0));
    assert_eq!(open(&mut d, &answers).len(), 1);
    assert_eq!(
        d.setup_outcome(),
        Some(SetupOutcome::Acknowledged { valset: false })
    );
    assert_eq!(d.stats().unknown_messages, 0, "ACKs are used");
    // Every request refused.
    d.on_open();
    let mut answers = Vec::new();
    setup::ack(&mut answers, CFG, CFG_VALSET, false);
    for _ in 0..4 {
        setup::ack(&mut answers, CFG, CFG_MSG, false);
    }
    open(&mut d, &answers);
    assert_eq!(d.setup_outcome(), Some(SetupOutcome::Rejected));
}

/// A receiver that never answers (NMEA only, another make): the set-up
/// times out after 3 s of its own fix times, and decoding goes on.
#[test]
fn configure_times_out_on_a_receiver_that_never_answers() {
    use dronetel_wire::ubx::setup::SetupOutcome;
    let capture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/gpsd/nmea/ublox-neo-m9n-nmea.log"
    ))
    .unwrap();
    let mut d = configuring();
    d.on_open();
    assert!(d.take_output().is_some());
    let fixes = open(&mut d, &capture);
    assert!(fixes.len() > 50, "{}", fixes.len());
    assert_eq!(d.setup_outcome(), Some(SetupOutcome::TimedOut));
}
