//! Epoch assembly: one fix per receiver cycle, published right after the
//! learned cycle ender; idle-gap fallback; end of stream; no-fix cycles;
//! date memory and GPS week rollover.
#![allow(clippy::unwrap_used)]

use crate::common;

use crate::common::{decode_open, sentence};
use dronetel_proto::v1::{FixMode, FixQuality, GpsFix};
use dronetel_wire::nmea::{NmeaDecoder, NmeaOptions, TimeEvidence, TimeSource};
use dronetel_wire::{Reading, SensorDecoder};

/// A GP cycle GGA, GSA, RMC at `hhmmss` with date `ddmmyy`.
fn cycle(hhmmss: &str, ddmmyy: &str, alt: f64) -> Vec<String> {
    vec![
        sentence(&format!(
            "GPGGA,{hhmmss}.000,3747.0873,S,17518.8938,E,1,08,1.1,{alt:.1},M,23.7,M,,0000"
        )),
        sentence("GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5"),
        sentence(&format!(
            "GPRMC,{hhmmss}.000,A,3747.0873,S,17518.8938,E,0.69,181.39,{ddmmyy},,,A"
        )),
    ]
}

fn feed(dec: &mut NmeaDecoder, lines: &[String]) -> Vec<GpsFix> {
    decode_open(dec, lines.concat().as_bytes())
}

fn secs(f: &GpsFix) -> i64 {
    f.time.as_ref().unwrap().seconds
}

#[test]
fn fix_is_published_right_after_the_learned_cycle_ender() {
    let mut dec = NmeaDecoder::default();
    let c1 = cycle("030719", "311226", 59.9);
    let c2 = cycle("030720", "311226", 60.4);
    let c3 = cycle("030721", "311226", 60.9);
    // Cycle 1: the ender is not known yet, so nothing comes out.
    assert!(feed(&mut dec, &c1).is_empty());
    // The first sentence with a new time closes cycle 1 and teaches "RMC".
    let out = feed(&mut dec, &c2[..1]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].cycle_end, "RMC");
    // Cycle 2 is published by its RMC, before any byte of cycle 3.
    assert!(
        feed(&mut dec, &c2[1..2]).is_empty(),
        "GSA does not end the cycle"
    );
    let out = feed(&mut dec, &c2[2..]);
    assert_eq!(
        out.len(),
        1,
        "published right after the ender, not one cycle late"
    );
    assert_eq!(secs(&out[0]) - secs(&feed_first(&c1)), 1);
    assert_eq!(out[0].altitude_msl_m, Some(60.4));
    // Climb from consecutive 3D fixes: +0.5 m in 1 s.
    assert!((out[0].climb_mps.unwrap() - 0.5).abs() < 1e-9);
    let out = feed(&mut dec, &c3);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].altitude_msl_m, Some(60.9));
}

fn feed_first(lines: &[String]) -> GpsFix {
    let mut dec = NmeaDecoder::default();
    feed(&mut dec, lines);
    match dec.flush_idle() {
        Some(Reading::Gps(f)) => f,
        other => panic!("idle flush gave {other:?}"),
    }
}

#[test]
fn idle_flush_publishes_the_pending_cycle_and_teaches_the_ender() {
    let mut dec = NmeaDecoder::default();
    assert_eq!(dec.idle_gap(), Some(NmeaOptions::default().idle_gap));
    assert!(dec.flush_idle().is_none(), "nothing pending yet");
    assert!(feed(&mut dec, &cycle("120000", "010127", 10.0)).is_empty());
    let Some(Reading::Gps(fix)) = dec.flush_idle() else {
        panic!("idle flush must publish the pending cycle");
    };
    assert_eq!(fix.cycle_end, "RMC");
    assert!(dec.flush_idle().is_none(), "published once");
    // The idle gap taught the ender: the next cycle needs no idle flush.
    let out = feed(&mut dec, &cycle("120001", "010127", 10.0));
    assert_eq!(out.len(), 1);
    assert!(dec.flush_idle().is_none());
}

#[test]
fn leading_timeless_sentences_join_the_next_cycle() {
    // A receiver whose cycle starts with GSA and GSV and ends with GGA. From
    // the sentences alone this is indistinguishable from GGA-first cycles
    // with a GSA/GSV tail; the quiet gap after each burst tells them apart,
    // so the idle flush teaches GGA as the ender.
    let c = |t: &str, prn: u32| {
        vec![
            sentence(&format!("GPGSA,A,3,{prn},28,,,,,,,,,,,1.8,1.1,1.5")),
            sentence(&format!("GPGSV,1,1,02,{prn},72,207,32,28,59,095,31")),
            sentence(&format!(
                "GPRMC,{t}.00,A,3747.0873,S,17518.8938,E,0.69,181.39,010127,,,A"
            )),
            sentence(&format!(
                "GPGGA,{t}.00,3747.0873,S,17518.8938,E,1,02,1.1,59.9,M,23.7,M,,"
            )),
        ]
    };
    let mut dec = NmeaDecoder::default();
    assert!(feed(&mut dec, &c("000001", 1)).is_empty());
    let mut out: Vec<GpsFix> = dec
        .flush_idle()
        .and_then(Reading::into_gps)
        .into_iter()
        .collect();
    out.extend(feed(&mut dec, &c("000002", 2)));
    out.extend(feed(&mut dec, &c("000003", 3)));
    assert_eq!(
        out.len(),
        3,
        "every cycle published by its GGA, no idle flush needed"
    );
    assert!(dec.flush_idle().is_none());
    for (i, f) in out.iter().enumerate() {
        assert_eq!(f.cycle_end, "GGA");
        let prns: Vec<u32> = f.sky.iter().map(|s| s.prn).collect();
        assert_eq!(prns, [i as u32 + 1, 28], "each cycle carries its own sky");
        assert!(f.sky.iter().all(|s| s.used));
        assert_eq!(f.satellites_visible, Some(2));
    }
    assert_eq!(secs(&out[2]) - secs(&out[0]), 2);
}

#[test]
fn end_of_stream_publishes_the_pending_cycle() {
    let (fixes, _) = common::decode_chunked(
        &NmeaOptions::default(),
        cycle("235959", "311226", 1.0).concat().as_bytes(),
        7,
    );
    assert_eq!(fixes.len(), 1);
}

#[test]
fn no_fix_cycle_has_no_position() {
    let lines = [
        sentence("GPGGA,000101.000,3747.0873,S,17518.8938,E,0,00,,,M,,M,,"),
        sentence("GPGSA,A,1,,,,,,,,,,,,,,,"),
        sentence("GPRMC,000101.000,V,3747.0873,S,17518.8938,E,,,010127,,,N"),
    ];
    let (fixes, st) = common::decode_chunked(&NmeaOptions::default(), lines.concat().as_bytes(), 5);
    assert_eq!(st.messages_ok, 3);
    let f = &fixes[0];
    assert_eq!(f.mode, FixMode::NoFix as i32);
    assert_eq!(f.quality, FixQuality::Invalid as i32);
    assert_eq!(
        (
            f.latitude_deg,
            f.longitude_deg,
            f.altitude_msl_m,
            f.speed_mps
        ),
        (None, None, None, None)
    );
    assert_eq!(f.satellites_used, Some(0));
    assert_eq!(f.hdop, None);
    assert!(
        f.time.is_some(),
        "a no-fix cycle still has the receiver's time"
    );
}

#[test]
fn cycles_without_a_date_reuse_the_last_date_and_roll_at_midnight() {
    let gga = |t: &str| {
        sentence(&format!(
            "GPGGA,{t},3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,"
        ))
    };
    let mut dec = NmeaDecoder::default();
    let mut out = feed(&mut dec, &cycle("235958", "311226", 1.0));
    out.extend(feed(
        &mut dec,
        &[gga("235959.000"), gga("000000.000"), gga("000001.000")],
    ));
    out.extend(dec.flush_idle().and_then(Reading::into_gps));
    let t: Vec<i64> = out.iter().map(secs).collect();
    assert_eq!(t.len(), 4);
    assert_eq!(
        t,
        [t[0], t[0] + 1, t[0] + 2, t[0] + 3],
        "2026-12-31 23:59:58 .. 2027-01-01 00:00:01"
    );
}

#[test]
fn receiver_dates_are_kept_unless_a_rollover_is_proven() {
    // 2026-12-31 is reported as sent (1798675200 = 2026-12-31).
    let f = feed_first(&cycle("000000", "311226", 1.0));
    assert_eq!(secs(&f), 1_798_675_200);
    // 2007-05-17 too: without evidence it may be a recording from 2007.
    let f = feed_first(&cycle("000000", "170507", 1.0));
    assert_eq!(secs(&f), 1_179_360_000);
    // A date before 2000 is rollover garbage by any reading: 1999-08-22
    // is 2019-04-07 (1554595200).
    let f = feed_first(&cycle("000000", "220899", 1.0));
    assert_eq!(secs(&f), 1_554_595_200);
    // With the floor off, even that is kept.
    let mut dec = NmeaDecoder::new(NmeaOptions {
        rollover_floor: None,
        ..NmeaOptions::default()
    });
    feed(&mut dec, &cycle("000000", "220899", 1.0));
    let Some(Reading::Gps(f)) = dec.flush_idle() else {
        panic!()
    };
    assert_eq!(secs(&f), 935_280_000);
}

#[test]
fn a_rollover_is_corrected_on_evidence_of_a_trusted_clock() {
    // A synchronized host clock says 2026-12-31 10:00; the receiver says
    // 2007-05-17 (1024 weeks earlier): corrected.
    let evidence = |unix_seconds| TimeEvidence {
        unix_seconds,
        source: TimeSource::HostClock,
    };
    let mut dec = NmeaDecoder::default();
    dec.set_time_evidence(Some(evidence(1_798_675_200 + 36_000)));
    feed(&mut dec, &cycle("000000", "170507", 1.0));
    let Some(Reading::Gps(f)) = dec.flush_idle() else {
        panic!()
    };
    assert_eq!(secs(&f), 1_798_675_200);
    // The evidence withdrawn (clock no longer synchronized): as sent.
    dec.set_time_evidence(None);
    let out = feed(&mut dec, &cycle("000001", "170507", 1.0));
    assert_eq!(secs(&out[0]), 1_179_360_001);
    // Evidence two days away from 1024 weeks proves nothing.
    dec.set_time_evidence(Some(evidence(1_798_675_200 + 2 * 86_400)));
    let out = feed(&mut dec, &cycle("000002", "170507", 1.0));
    assert_eq!(secs(&out[0]), 1_179_360_002);
}

#[test]
fn no_fix_cycles_with_empty_times_are_closed_by_the_first_time() {
    // A receiver cold-starting (as bt451.log): empty time fields, no fix.
    let nofix = [
        sentence("GPRMC,,V,,,,,,,,,,N"),
        sentence("GPGGA,,,,,,0,00,99.99,,,,,,"),
        sentence("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"),
        sentence("GPGLL,,,,,,V,N"),
    ];
    let mut dec = NmeaDecoder::default();
    assert!(feed(&mut dec, &nofix).is_empty());
    assert!(feed(&mut dec, &nofix).is_empty());
    let out = feed(
        &mut dec,
        &[sentence("GPGLL,5547.82107,N,02334.14132,E,152504.50,A,A")],
    );
    assert_eq!(
        out.len(),
        1,
        "the no-fix accumulation is closed by the first time"
    );
    assert_eq!(out[0].mode, FixMode::NoFix as i32);
    assert_eq!(out[0].time, None);
    // The first cycle with a time is not polluted by the no-fix sentences.
    let Some(Reading::Gps(f)) = dec.flush_idle() else {
        panic!()
    };
    assert_eq!(f.mode, FixMode::FixMode2d as i32);
    assert_eq!(f.quality, FixQuality::Gps as i32);
    assert_eq!(f.hdop, None);
    assert!(f.latitude_deg.is_some());
}

#[test]
fn nothing_is_held_between_cycles_once_the_ender_is_learned() {
    let mut dec = NmeaDecoder::default();
    assert!(!dec.holds_pending(), "nothing received yet");
    feed(&mut dec, &cycle("030719", "311226", 59.9));
    assert!(dec.holds_pending(), "cycle 1 waits for its end");
    let c2 = cycle("030720", "311226", 60.4);
    let out = feed(&mut dec, &c2[..1]);
    assert_eq!(out.len(), 1, "cycle 2's first sentence closes cycle 1");
    assert!(dec.holds_pending(), "cycle 2 has begun");
    assert_eq!(feed(&mut dec, &c2[1..]).len(), 1, "RMC ends cycle 2");
    assert!(!dec.holds_pending(), "published: no idle flush needed");
    assert!(dec.flush_idle().is_none());
}

/// The log lines a closure's tracing events write.
fn logged(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    text
}

/// How dates are read is logged once per change: a receiver with
/// rollover dates whose date comes only in every other cycle (no RMC in
/// between) logs its correction once, not once per cycle.
#[test]
fn a_rollover_correction_is_logged_once_when_some_cycles_have_no_date() {
    let log = logged(|| {
        let mut dec = NmeaDecoder::default();
        for k in 0..8 {
            let c = cycle(&format!("0000{k:02}"), "220899", 1.0);
            let lines = if k % 2 == 0 { &c[..] } else { &c[..2] };
            feed(&mut dec, lines);
        }
        dec.flush_idle();
    });
    assert_eq!(
        log.matches("moved forward by 1024 weeks").count(),
        1,
        "{log}"
    );
    assert!(!log.contains("used as the receiver sends them"), "{log}");
}
