//! The UBX capture test: decodes every real u-blox capture in
//! `../shared/testdata/gpsd/ubx/*.log` with [`UbloxDecoder`] (UBX and the
//! NMEA some of them interleave) and compares our fixes with gpsd's TPV
//! reports in the `.log.chk` files.
//!
//! Matching rules (those of the NMEA capture test, see the testdata README,
//! with the date included):
//! - the denominator of a file is the set of distinct times for which gpsd
//!   reported a TPV with a fix (mode 2 or 3) and a time; times are compared
//!   whole, date included, to the millisecond;
//! - our fix of that time matches if it agrees with one of gpsd's TPVs of
//!   that time, or with their merge (later fields over earlier), on every
//!   field that TPV has: mode equal, lat/lon within 1e-7 degree, altitude,
//!   speed and track within 0.01;
//! - altitude: gpsd's `altMSL` against our MSL altitude when the receiver
//!   sent one (NAV-PVT, NAV-POSLLH, GGA). Receivers reporting ECEF only
//!   (NAV-SOL, NAV-POSECEF) send no MSL altitude: gpsd computes one from its
//!   own geoid model, which we do not carry, so there `altHAE` is compared
//!   with our height above the ellipsoid;
//! - rule for gpsd's first TPVs: before the receiver reported the leap
//!   seconds, gpsd timed NAV-SOL fixes with its compiled-in 18 s (its TPVs
//!   then carry no `leapseconds`), while we publish an epoch after its
//!   NAV-TIMEGPS and use the receiver's value. Such a TPV is moved by
//!   (18 - the first `leapseconds` gpsd reports later) seconds: only
//!   ublox-lea-4t.log (2009, 15 s) is affected;
//! - rule for NMEA-derived TPVs (ublox-zed-f9r.log): there gpsd's TPVs carry
//!   the interleaved NMEA's values (GGA's 1e-5 arc-minute latitude and
//!   0.1 m altitude), ours NAV-PVT's (UBX wins); lat/lon are then compared
//!   within 1e-7 degree plus half an NMEA step (0.83e-7°), altitude within
//!   0.05 m plus 0.01;
//! - speed and track that gpsd derives from successive positions, in
//!   captures whose receiver sends no velocity at all (u-blox-m8t-time.log:
//!   NAV-POSLLH and NAV-POSECEF only, a timing receiver at a fixed
//!   position), are not compared: we only report what the receiver sent;
//! - "extra" counts our 2D/3D fixes at times gpsd gave no TPV with a fix.
//!   Informational.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use dronetel_proto::v1::GpsFix;
use dronetel_wire::ubx::UbloxDecoder;
use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/gpsd/ubx"
);

/// Overall minimum match rate, percent (the acceptance bar).
const MIN_OVERALL: f64 = 99.0;

/// Minimum match rate per file, percent, set from what the decoder
/// achieves: every file matches all of gpsd's epochs with a fix, so any
/// loss is a regression.
const MIN_PER_FILE: f64 = 100.0;

/// gpsd TPVs of one time (ms since the Unix epoch).
type Tpvs = BTreeMap<i64, Vec<Value>>;

fn gpsd_tpvs(chk: &str) -> Tpvs {
    let tpvs: Vec<Value> = chk
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["class"] == "TPV")
        .collect();
    let first_leap = tpvs.iter().find_map(|v| v["leapseconds"].as_i64());
    let mut seen_leap = false;
    let mut map = Tpvs::new();
    for v in tpvs {
        seen_leap |= v.get("leapseconds").is_some();
        let Some(mut t) = v["time"].as_str().and_then(common::ms_of_iso) else {
            continue;
        };
        if !seen_leap {
            if let Some(l) = first_leap {
                t += (18 - l) * 1000;
            }
        }
        if v["mode"].as_i64().unwrap_or(0) >= 2 {
            map.entry(t).or_default().push(v);
        }
    }
    map
}

/// Why our fix differs from one gpsd TPV; empty when it matches.
fn differences(
    ours: &GpsFix,
    tpv: &Value,
    nmea_values: bool,
    has_velocity: bool,
) -> Vec<&'static str> {
    let mut why = Vec::new();
    if tpv["mode"].as_i64() != Some(i64::from(ours.mode)) {
        why.push("mode");
    }
    let (ll_tol, alt_tol) = if nmea_values {
        (1e-7 + 0.5e-5 / 60.0, 0.06)
    } else {
        (1e-7, 0.01)
    };
    let mut cmp = |key: &str, val: Option<f64>, tol: f64, name: &'static str| {
        if let Some(g) = tpv[key].as_f64() {
            match val {
                Some(v) if (v - g).abs() <= tol => {}
                _ => why.push(name),
            }
        }
    };
    cmp("lat", ours.latitude_deg, ll_tol, "lat");
    cmp("lon", ours.longitude_deg, ll_tol, "lon");
    if ours.altitude_msl_m.is_some() {
        let key = if tpv.get("altMSL").is_some() {
            "altMSL"
        } else {
            "alt"
        };
        cmp(key, ours.altitude_msl_m, alt_tol, "alt");
    } else {
        cmp("altHAE", ours.altitude_hae_m, alt_tol, "altHAE");
    }
    if has_velocity {
        cmp("speed", ours.speed_mps, 0.01, "speed");
        cmp("track", ours.course_deg, 0.01, "course");
    }
    why
}

fn merge(tpvs: &[Value]) -> Value {
    let mut m = serde_json::Map::new();
    for t in tpvs {
        for (k, v) in t.as_object().unwrap() {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

fn ms_of_fix(f: &GpsFix) -> Option<i64> {
    f.time.as_ref().map(|t| {
        (i128::from(t.seconds) * 1000 + (i128::from(t.nanos) + 500_000) / 1_000_000) as i64
    })
}

struct FileResult {
    name: String,
    stats: dronetel_wire::Stats,
    fixes: usize,
    extra: usize,
    gpsd: usize,
    matched: usize,
    reasons: BTreeMap<&'static str, usize>,
}

fn compare_file(log: &PathBuf) -> FileResult {
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    let input = std::fs::read(log).unwrap();
    let chk = std::fs::read_to_string(log.with_extension("log.chk")).unwrap();
    let tpvs = gpsd_tpvs(&chk);
    // gpsd's TPVs carry NMEA values where the capture has GGA sentences.
    let nmea_values = input.windows(6).any(|w| &w[3..6] == b"GGA" && w[0] == b'$');
    // Any UBX message carrying a velocity (NAV-PVT, NAV-SOL, NAV-VELNED,
    // NAV-VELECEF, HNR-PVT) or an NMEA RMC/VTG anywhere in the capture.
    let has_velocity = input.windows(4).any(|w| {
        matches!(
            w,
            [0xb5, 0x62, 0x01, 0x07 | 0x06 | 0x12 | 0x11] | [0xb5, 0x62, 0x28, 0x00]
        )
    }) || input
        .windows(6)
        .any(|w| w[0] == b'$' && (&w[3..6] == b"RMC" || &w[3..6] == b"VTG"));
    let (fixes, stats) = crate::common::decode_with(UbloxDecoder::default(), &input, input.len());
    let mut ours: BTreeMap<i64, Vec<&GpsFix>> = BTreeMap::new();
    for f in &fixes {
        if let Some(t) = ms_of_fix(f) {
            ours.entry(t).or_default().push(f);
        }
    }
    let debug = std::env::var("CAPTURE_DEBUG").is_ok_and(|f| name.starts_with(&f));
    let mut res = FileResult {
        fixes: fixes.len(),
        extra: ours
            .iter()
            .filter(|(t, fs)| !tpvs.contains_key(t) && fs.iter().any(|f| f.mode >= 2))
            .count(),
        gpsd: tpvs.len(),
        matched: 0,
        reasons: BTreeMap::new(),
        stats,
        name,
    };
    if debug {
        for (t, fs) in &ours {
            if !tpvs.contains_key(t) && fs.iter().any(|f| f.mode >= 2) {
                println!("extra {t}: {:?}", fs[0]);
            }
        }
    }
    for (t, candidates) in &tpvs {
        let Some(mine) = ours.get(t) else {
            *res.reasons.entry("no fix of that time").or_default() += 1;
            if debug {
                println!("{t}: none; gpsd {}", candidates[0]);
            }
            continue;
        };
        let mut views: Vec<Value> = candidates.clone();
        views.push(merge(candidates));
        let mut best: Option<Vec<&'static str>> = None;
        for f in mine {
            for v in &views {
                let d = differences(f, v, nmea_values, has_velocity);
                if best.as_ref().is_none_or(|b| d.len() < b.len()) {
                    best = Some(d);
                }
            }
        }
        let best = best.unwrap_or_default();
        if best.is_empty() {
            res.matched += 1;
        } else {
            if debug {
                println!(
                    "{t}: {best:?}\n  gpsd {}\n  ours {:?}",
                    views[views.len() - 1],
                    mine
                );
            }
            for r in best {
                *res.reasons.entry(r).or_default() += 1;
            }
        }
    }
    res
}

/// The `*.log` captures of `dir`, in name order.
fn logs(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "capture folder {} is missing: the gpsd captures must sit beside the repository",
        dir.display()
    );
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs
}

#[test]
fn ubx_captures_match_gpsd() {
    let logs = logs(DIR);
    assert_eq!(logs.len(), 13, "the 13 u-blox captures of the README");
    let mut table = String::new();
    writeln!(
        table,
        "{:<26} {:>5} {:>7} {:>6} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} | mismatches",
        "file",
        "gpsd",
        "matched",
        "rate",
        "extra",
        "fixes",
        "ok",
        "cksum",
        "frame",
        "unkn",
        "short"
    )
    .unwrap();
    let (mut total, mut matched) = (0, 0);
    let mut failures = Vec::new();
    for log in &logs {
        let r = compare_file(log);
        total += r.gpsd;
        matched += r.matched;
        let rate = if r.gpsd == 0 {
            100.0
        } else {
            100.0 * r.matched as f64 / r.gpsd as f64
        };
        if rate + 1e-9 < MIN_PER_FILE {
            failures.push(format!("{}: {rate:.1}% < {MIN_PER_FILE}%", r.name));
        }
        let reasons: Vec<String> = r.reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            table,
            "{:<26} {:>5} {:>7} {:>5.1}% {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} | {}",
            r.name,
            r.gpsd,
            r.matched,
            rate,
            r.extra,
            r.fixes,
            r.stats.messages_ok,
            r.stats.checksum_errors,
            r.stats.framing_errors,
            r.stats.unknown_messages,
            r.stats.decode_errors,
            reasons.join(", ")
        )
        .unwrap();
    }
    let overall = 100.0 * matched as f64 / total.max(1) as f64;
    writeln!(
        table,
        "overall: {matched} of {total} gpsd epochs with a fix matched, {overall:.2}%"
    )
    .unwrap();
    println!("{table}");
    assert!(total > 800, "gpsd reports over 800 fixes in these captures");
    assert!(
        failures.is_empty(),
        "match rate below minimum:\n{}\n{table}",
        failures.join("\n")
    );
    assert!(
        overall >= MIN_OVERALL,
        "overall {overall:.2}% < {MIN_OVERALL}%\n{table}"
    );
}

/// Every UBX frame of every capture is accounted for: a plain scan (sync,
/// length, checksum; a frame that fails is skipped by one byte) counts the
/// good frames, and the UBX-only decoder must have used, skipped as unknown
/// or found too short exactly as many.
#[test]
fn every_ubx_frame_of_every_capture_is_accounted_for() {
    let mut files = 0;
    for path in logs(DIR) {
        files += 1;
        let input = std::fs::read(&path).unwrap();
        let mut good = 0u64;
        let mut i = 0;
        while i + 8 <= input.len() {
            if input[i] == 0xb5 && input[i + 1] == 0x62 {
                let len = usize::from(u16::from_le_bytes([input[i + 4], input[i + 5]]));
                if let Some(body) = input.get(i + 2..i + 6 + len) {
                    let (mut a, mut b) = (0u8, 0u8);
                    for &x in body {
                        a = a.wrapping_add(x);
                        b = b.wrapping_add(a);
                    }
                    if input.get(i + 6 + len..i + 8 + len) == Some(&[a, b][..]) {
                        good += 1;
                        i += 8 + len;
                        continue;
                    }
                }
            }
            i += 1;
        }
        let (_, st) =
            crate::common::decode_with(dronetel_wire::ubx::UbxDecoder::default(), &input, 4096);
        assert!(good > 0, "{}", path.display());
        assert_eq!(
            st.messages_ok + st.unknown_messages + st.decode_errors,
            good,
            "{}: {st:?}",
            path.display()
        );
        assert_eq!(st.bytes, input.len() as u64);
    }
    assert_eq!(files, 13);
}

/// Chunking never changes the result on real captures: every file decoded
/// byte by byte, in odd pieces and in read-sized pieces gives the fixes and
/// counters of the whole file at once.
#[test]
fn captures_decode_the_same_at_any_chunk_size() {
    for path in logs(DIR) {
        let input = std::fs::read(&path).unwrap();
        let whole = crate::common::decode_with(UbloxDecoder::default(), &input, input.len());
        for chunk in [1, 7, 100, 4096] {
            let got = crate::common::decode_with(UbloxDecoder::default(), &input, chunk);
            assert!(
                got == whole,
                "{}: chunk size {chunk} differs",
                path.display()
            );
        }
    }
}

/// A receiver sending only NMEA works under `protocol = "ublox"`: every
/// NMEA capture gives the combined decoder exactly the fixes the NMEA
/// decoder gives. (Counters may differ where a capture holds binary junk
/// that starts with a UBX sync: that is a bad UBX frame to the combined
/// decoder, a junk run to the NMEA one.)
#[test]
fn nmea_captures_decode_alike_under_the_combined_decoder() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/gpsd/nmea"
    );
    let mut files = 0;
    for path in logs(dir) {
        files += 1;
        let input = std::fs::read(&path).unwrap();
        let (nmea, ns) =
            crate::common::decode_with(dronetel_wire::nmea::NmeaDecoder::default(), &input, 4096);
        let (ublox, us) = crate::common::decode_with(UbloxDecoder::default(), &input, 4096);
        assert!(nmea == ublox, "{}: fixes differ", path.display());
        assert_eq!(ns.messages_ok, us.messages_ok, "{}", path.display());
        assert_eq!(us.bytes, input.len() as u64);
    }
    assert!(files >= 28, "{files} NMEA captures");
}
