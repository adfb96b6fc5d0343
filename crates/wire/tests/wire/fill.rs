//! What goes into a fix: every field from a full multi-constellation NMEA
//! 4.10 cycle, and a receiver whose cycle shape varies.
#![allow(clippy::unwrap_used)]

use crate::common;

use crate::common::{decode_open, sentence};
use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix};
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::SensorDecoder;

fn ublox_cycle(t: &str, alt: f64) -> String {
    ublox_cycle_with_gbs(t, alt, t)
}

/// A u-blox cycle at `t` whose GBS names the time `gbs`.
fn ublox_cycle_with_gbs(t: &str, alt: f64, gbs: &str) -> String {
    [
        format!("GNRMC,{t},A,4807.0381234,N,01131.0001234,E,10.000,45.00,010127,,,D,V"),
        "GNVTG,45.00,T,42.50,M,10.000,N,18.520,K,D".to_owned(),
        format!("GNGGA,{t},4807.0381234,N,01131.0001234,E,2,08,0.90,{alt:.3},M,47.000,M,1.0,0000"),
        "GNGSA,A,3,01,02,03,04,,,,,,,,,1.50,0.90,1.20,1".to_owned(),
        "GNGSA,A,3,65,66,,,,,,,,,,,1.50,0.90,1.20,2".to_owned(),
        "GNGSA,A,3,11,12,,,,,,,,,,,1.50,0.90,1.20,3".to_owned(),
        "GPGSV,2,1,05,01,40,083,46,02,17,308,41,03,07,344,39,04,22,228,45,1".to_owned(),
        "GPGSV,2,2,05,05,10,100,,1".to_owned(),
        "GPGSV,1,1,02,01,40,083,40,02,17,308,38,6".to_owned(),
        "GLGSV,1,1,02,65,50,030,30,66,20,200,31,1".to_owned(),
        "GAGSV,1,1,03,11,60,060,44,12,30,120,,13,10,300,,7".to_owned(),
        format!("GNGLL,4807.0381234,N,01131.0001234,E,{t},A,D"),
        format!("GNGST,{t},1.2,0.5,0.4,30.0,0.3,0.4,0.8"),
        format!("GNGBS,{gbs},1.0,1.1,3.1,,,,,,"),
        format!("GNZDA,{t},01,01,2027,00,00"),
    ]
    .map(|s| sentence(&s))
    .concat()
}

#[test]
fn a_full_cycle_fills_every_field() {
    let mut dec = NmeaDecoder::default();
    assert!(decode_open(&mut dec, ublox_cycle("120000.00", 545.4).as_bytes()).is_empty());
    let first = decode_open(&mut dec, ublox_cycle("120001.00", 546.4).as_bytes());
    // Cycle 1 closed by cycle 2's first sentence (learning ZDA), cycle 2 by
    // its own ZDA.
    assert_eq!(first.len(), 2);
    let f: &GpsFix = &first[1];
    assert_eq!(f.cycle_end, "ZDA");
    assert_eq!(f.talker, "GN");
    // 2027-01-01T12:00:01Z
    assert_eq!(f.time.unwrap().seconds, 1_798_761_600 + 12 * 3600 + 1);
    assert_eq!(f.mode, FixMode::FixMode3d as i32);
    assert_eq!(f.quality, FixQuality::Dgps as i32);
    assert!((f.latitude_deg.unwrap() - (48.0 + 7.038_123_4 / 60.0)).abs() < 1e-12);
    assert!((f.longitude_deg.unwrap() - (11.0 + 31.000_123_4 / 60.0)).abs() < 1e-12);
    assert_eq!(f.altitude_msl_m, Some(546.4));
    assert_eq!(f.geoid_separation_m, Some(47.0));
    assert!((f.altitude_hae_m.unwrap() - 593.4).abs() < 1e-9);
    assert!((f.speed_mps.unwrap() - 10.0 * 1852.0 / 3600.0).abs() < 1e-9);
    assert_eq!(f.course_deg, Some(45.0));
    assert_eq!(f.magnetic_course_deg, Some(42.5));
    assert_eq!(
        (
            f.expected_latitude_error_m,
            f.expected_longitude_error_m,
            f.expected_altitude_error_m
        ),
        (Some(1.0), Some(1.1), Some(3.1))
    );
    assert!((f.climb_mps.unwrap() - 1.0).abs() < 1e-9);
    assert_eq!((f.hdop, f.vdop, f.pdop), (Some(0.9), Some(1.2), Some(1.5)));
    assert!((f.horizontal_error_m.unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(f.vertical_error_m, Some(0.8));
    // GGA says 8 and the GSAs list 8.
    assert_eq!(f.satellites_used, Some(8));
    assert_eq!(f.satellites_visible, Some(10));
    assert_eq!(f.sky.len(), 12);
    let sat = |c: Constellation, prn: u32, sig: u32| {
        f.sky
            .iter()
            .find(|s| s.constellation == c as i32 && s.prn == prn && s.signal_id == Some(sig))
            .unwrap_or_else(|| panic!("{c:?} {prn} signal {sig} missing"))
    };
    let g1 = sat(Constellation::Gps, 1, 1);
    assert_eq!(
        (g1.elevation_deg, g1.azimuth_deg, g1.snr_dbhz, g1.used),
        (Some(40.0), Some(83.0), Some(46.0), true)
    );
    assert_eq!(sat(Constellation::Gps, 1, 6).snr_dbhz, Some(40.0));
    assert!(sat(Constellation::Gps, 1, 6).used);
    let g5 = sat(Constellation::Gps, 5, 1);
    assert_eq!((g5.snr_dbhz, g5.used), (None, false));
    assert!(sat(Constellation::Glonass, 66, 1).used);
    assert!(sat(Constellation::Galileo, 12, 7).used);
    assert!(!sat(Constellation::Galileo, 13, 7).used);
    assert!(dec.flush_idle().is_none(), "nothing left pending");
}

/// GBS's errors are of the fix whose time it names: a GBS of another
/// second leaves the cycle's fix without them (gpsd checks the same).
#[test]
fn a_gbs_of_another_second_is_not_the_fixs() {
    let mut dec = NmeaDecoder::default();
    let mut fixes = decode_open(
        &mut dec,
        ublox_cycle_with_gbs("120000.00", 545.4, "115959.00").as_bytes(),
    );
    fixes.extend(decode_open(
        &mut dec,
        ublox_cycle_with_gbs("120001.00", 546.4, "115959.00").as_bytes(),
    ));
    assert_eq!(fixes.len(), 2);
    for f in &fixes {
        assert_eq!(f.expected_latitude_error_m, None);
        assert_eq!(f.expected_altitude_error_m, None);
    }
}

/// Without a fix, a GBS's errors are of nothing: left out, as the other
/// position values are.
#[test]
fn a_gbs_without_a_fix_is_left_out() {
    let mut dec = NmeaDecoder::default();
    let cycle = |t: &str| {
        [
            format!("GPRMC,{t},V,,,,,,,010127,,,N"),
            format!("GPGBS,{t},1.0,1.1,3.1,,,,"),
        ]
        .map(|s| sentence(&s))
        .concat()
    };
    let mut fixes = decode_open(&mut dec, cycle("120000.00").as_bytes());
    fixes.extend(decode_open(&mut dec, cycle("120001.00").as_bytes()));
    assert!(!fixes.is_empty());
    for f in &fixes {
        assert_ne!(f.mode, FixMode::FixMode3d as i32);
        assert_eq!(f.expected_latitude_error_m, None);
        assert_eq!(f.expected_altitude_error_m, None);
    }
}

fn gga(t: &str) -> String {
    sentence(&format!(
        "GPGGA,{t},4205.733715,N,08802.040978,W,2,08,1.0,221.921,M,,,3,0138"
    ))
}

fn rmc(t: &str) -> String {
    sentence(&format!(
        "GPRMC,{t},A,4205.733715,N,08802.040978,W,9.415,21.404,190227,,,D"
    ))
}

/// The date for the tests below (their other sentences carry none).
fn zda(t: &str) -> String {
    sentence(&format!("GPZDA,{t},19,02,2027,00,00"))
}

fn times(fixes: &[GpsFix]) -> Vec<f64> {
    fixes
        .iter()
        .map(|f| common::time_of_day(f).unwrap())
        .collect()
}

#[test]
fn extra_sentences_at_whole_seconds_get_their_own_ender() {
    // 10 Hz GGA, plus an RMC at every whole second (as the RT GPS/IMU of
    // rst39.log does): whole-second cycles end with RMC, the others with GGA.
    let mut stream = String::new();
    for k in 8..=31 {
        let t = format!("0000{:02}.{}0", k / 10, k % 10);
        stream.push_str(&gga(&t));
        if k == 8 {
            stream.push_str(&zda(&t));
        }
        if k % 10 == 0 {
            stream.push_str(&rmc(&t));
        }
    }
    let mut dec = NmeaDecoder::default();
    let mut fixes = Vec::new();
    for line in stream.split_inclusive('\n') {
        let out = decode_open(&mut dec, line.as_bytes());
        // From 2.00 on (both enders learned), every cycle comes out with the
        // sentence that ends it, never later.
        let t_of_line = &line[7..16];
        if t_of_line >= "000002.00" {
            let ends = !(t_of_line.ends_with(".00") && line.contains("GGA"));
            assert_eq!(out.len(), usize::from(ends), "{line}");
        }
        fixes.extend(out);
    }
    let t = times(&fixes);
    assert_eq!(t.len(), 24, "{t:?}");
    for (got, k) in t.iter().zip(8..) {
        assert!((got - f64::from(k) / 10.0).abs() < 1e-9, "{t:?}");
    }
    for f in &fixes {
        let whole = common::time_of_day(f).unwrap().fract() == 0.0;
        assert_eq!(
            f.speed_mps.is_some(),
            whole,
            "whole-second fixes carry their RMC"
        );
    }
}

#[test]
fn a_receiver_whose_cycle_shape_varies_never_gets_two_fixes_of_one_time() {
    // 2 Hz at half seconds; one cycle has an extra RMC after its GGA.
    let mut dec = NmeaDecoder::default();
    let mut stream = String::new();
    for s in 0..5 {
        let t = format!("00000{s}.50");
        stream.push_str(&gga(&t));
        if s == 0 {
            stream.push_str(&zda(&t));
        }
        if s == 2 {
            stream.push_str(&rmc(&t));
        }
    }
    let fixes = decode_open(&mut dec, stream.as_bytes());
    let t = times(&fixes);
    // 0.5 (closed by 1.5, teaching ZDA), 1.5 (closed by 2.5, teaching GGA),
    // 2.5 published by its GGA; 2.5's RMC comes late: dropped (one fix per
    // time) and GGA unlearned; 3.5 is closed by 4.5 (teaching GGA again),
    // which is published by its own GGA.
    assert_eq!(t, [0.5, 1.5, 2.5, 3.5, 4.5]);
    assert_eq!(fixes[2].speed_mps, None, "2.5 was published before its RMC");
    assert!(dec.flush_idle().is_none(), "4.5 was published by its GGA");
}

#[test]
fn an_impossible_rmc_date_drops_the_date_only() {
    // april6_2019.log: a Telit HE910 after the 2019 rollover sends "2208-1".
    let mut dec = NmeaDecoder::default();
    let good = sentence("GPRMC,000230.00,A,4829.0005,N,00022.0015,E,0.15,212.28,070419,,,A");
    let bad = sentence("GPRMC,000231.00,A,4829.0005,N,00022.0016,E,0.16,212.28,2208-1,,,A");
    let mut fixes = decode_open(&mut dec, format!("{good}{bad}").as_bytes());
    fixes.extend(dec.flush_idle().and_then(dronetel_wire::Reading::into_gps));
    assert_eq!(dec.stats().messages_ok, 2);
    assert_eq!(dec.stats().framing_errors, 0);
    assert_eq!(fixes.len(), 2);
    assert!(fixes[1].latitude_deg.is_some());
    // The date is taken from the previous RMC.
    let dt = fixes[1].time.unwrap().seconds - fixes[0].time.unwrap().seconds;
    assert_eq!(dt, 1);
}

#[test]
fn satellites_used_is_the_larger_of_gga_and_the_gsa_lists() {
    let prns = |from: u32, n: u32| {
        (from..from + n)
            .map(|p| format!("{p:02}"))
            .collect::<Vec<_>>()
    };
    let gsa = |ids: Vec<String>, sys: u32| {
        let mut f = ids;
        f.resize(12, String::new());
        sentence(&format!("GNGSA,A,3,{},1.0,0.6,0.8,{sys}", f.join(",")))
    };
    let cycle = |used_in_gga: u32, gps: u32, glo: u32| {
        [
            sentence(&format!(
                "GNGGA,120000.00,4807.038,N,01131.000,E,1,{used_in_gga:02},0.6,545.4,M,47.0,M,,"
            )),
            gsa(prns(1, gps), 1),
            gsa(prns(65, glo), 2),
            sentence("GNRMC,120000.00,A,4807.038,N,01131.000,E,0.0,0.0,010127,,,A,V"),
        ]
        .concat()
    };
    // u-blox: GGA capped at 12, GSAs list 12 + 8.
    let (fixes, _) = common::decode_chunked(&Default::default(), cycle(12, 12, 8).as_bytes(), 64);
    assert_eq!(fixes[0].satellites_used, Some(20));
    // GSAs listing fewer than GGA counts (lists are 12 slots): GGA wins.
    let (fixes, _) = common::decode_chunked(&Default::default(), cycle(9, 4, 2).as_bytes(), 64);
    assert_eq!(fixes[0].satellites_used, Some(9));
}
