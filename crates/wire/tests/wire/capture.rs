//! THE capture test: decodes every real receiver capture in
//! `../shared/testdata/gpsd/nmea/*.log` and compares our fixes with gpsd's
//! TPV reports of the same time in the `.log.chk` files.
//!
//! Matching rules (see the testdata README):
//! - the denominator of a file is the set of distinct times of day for
//!   which gpsd reported a TPV with a fix (mode 2 or 3) and a time;
//! - times are compared to the millisecond, date included: a fix carries
//!   the date the receiver sent, as gpsd's current `.chk` files do. Two
//!   `.chk` files were recorded by an older gpsd that moved dates before
//!   its build by 1024 weeks (`neo-m8n.log`: chk 2034-11-01 for the
//!   receiver's 2015-03-18; `rst39.log`: 2033-10-05 for 2014-02-19): there
//!   the receiver's own date, 1024 weeks before the chk's, is the expected
//!   one ([`CHK_MOVED_1024_WEEKS`]). The rollover garbage of
//!   `april6_2019.log` and `gp-320fw-2019-04-07-coldboot.log` (1999-08-22)
//!   comes out corrected to 2019-04-07 (crates/wire/NMEA.md);
//! - gpsd often reports several TPVs for one time: mid-cycle ones carry
//!   only the fields seen so far. gpsd's view of a time is the merge of its
//!   TPVs of that time with a fix, later values winning; our fix of that
//!   time matches if it agrees with it on every field it has: date and
//!   time, mode equal (gpsd's rules, crates/wire/NMEA.md "Fix mode"),
//!   lat/lon within 1e-7 degree, altMSL (else alt), speed and track within
//!   0.01. A field we report that gpsd lacks is not a mismatch.
//! - speed and track that gpsd derives from successive positions in cycles
//!   without RMC/VTG are not compared (we only report what the receiver
//!   sent);
//! - "extra" counts our 2D/3D fixes at times gpsd gave no TPV with a fix and
//!   a time: the last cycle of a capture (gpsd reports nothing after it),
//!   cycles gpsd reported without a time (first fix after a no-fix
//!   stretch). Informational.
//! - pass: every file matches every one of gpsd's epochs with a fix, so
//!   any loss is a regression. Measured: 652 of 652, no mismatch left.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use dronetel_proto::v1::GpsFix;
use dronetel_wire::nmea::NmeaOptions;
use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/gpsd/nmea"
);

/// `.chk` files recorded by an older gpsd that moved dates before its
/// build by 1024 weeks: the receiver's date, 1024 weeks earlier, is the
/// expected one (testdata README).
const CHK_MOVED_1024_WEEKS: &[&str] = &["neo-m8n.log", "rst39.log"];

/// 1024 GPS weeks, in milliseconds.
const ROLLOVER_MS: i64 = 1024 * 7 * 86_400_000;

/// Dates before 2000-01-01 are GPS week rollover garbage by any reading:
/// the decoder corrects them by 1024 weeks, so the expected date is gpsd's
/// plus 1024 weeks (`april6_2019.log`, `gp-320fw-2019-04-07-coldboot.log`).
const GARBAGE_BEFORE_MS: i64 = 946_684_800_000;

/// gpsd TPVs of one time of day (milliseconds).
type Tpvs = BTreeMap<i64, Vec<Value>>;

/// The time (ms since 1970) our fix of gpsd's TPV time `iso` must carry.
fn expected_ms(file: &str, iso: &str) -> Option<i64> {
    let ms = common::ms_of_iso(iso)?;
    Some(if CHK_MOVED_1024_WEEKS.contains(&file) {
        ms - ROLLOVER_MS
    } else if ms < GARBAGE_BEFORE_MS {
        ms + ROLLOVER_MS
    } else {
        ms
    })
}

fn gpsd_tpvs(chk: &str) -> Tpvs {
    let mut map = Tpvs::new();
    for line in chk.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["class"] != "TPV" {
            continue;
        }
        let mode = v["mode"].as_i64().unwrap_or(0);
        let Some(t) = v["time"].as_str().and_then(common::tod_ms_of_iso) else {
            continue;
        };
        if mode >= 2 {
            map.entry(t).or_default().push(v);
        }
    }
    map
}

/// Times of day (ms) of the cycles whose raw sentences report a speed (RMC,
/// VTG; a VTG has no time and belongs to the last timed sentence's cycle).
/// gpsd derives speed and track from successive positions when a cycle has
/// none: those derived values are not compared.
fn speed_cycles(log: &[u8]) -> std::collections::BTreeSet<i64> {
    let mut set = std::collections::BTreeSet::new();
    let mut now: Option<i64> = None;
    for line in log.split(|&b| b == b'\n' || b == b'\r') {
        let Some(start) = line.iter().rposition(|&b| b == b'$') else {
            continue;
        };
        let line = String::from_utf8_lossy(&line[start + 1..]);
        let f: Vec<&str> = line.split([',', '*']).collect();
        let tag = f[0].get(2..).unwrap_or("");
        let time = match tag {
            "GGA" | "RMC" | "GNS" | "ZDA" => f.get(1).copied(),
            "GLL" => f.get(5).copied(),
            _ => None,
        };
        if let Some(t) = time.and_then(|t| {
            common::tod_ms_of_iso(&format!(
                "T{}:{}:{}Z",
                t.get(..2)?,
                t.get(2..4)?,
                t.get(4..)?
            ))
        }) {
            now = Some(t);
        }
        if tag == "RMC" || tag == "VTG" {
            set.extend(now);
        }
    }
    set
}

/// Why our fix differs from one gpsd TPV; empty when it matches.
fn differences(file: &str, ours: &GpsFix, tpv: &Value) -> Vec<&'static str> {
    let mut why = Vec::new();
    let ours_ms = ours
        .time
        .as_ref()
        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
    if tpv["time"].as_str().and_then(|t| expected_ms(file, t)) != ours_ms {
        why.push("date");
    }
    if tpv["mode"].as_i64() != Some(i64::from(ours.mode)) {
        why.push("mode");
    }
    let mut cmp = |key: &str, val: Option<f64>, tol: f64, name: &'static str| {
        if let Some(g) = tpv[key].as_f64() {
            match val {
                Some(v) if (v - g).abs() <= tol => {}
                Some(_) => why.push(name),
                None => why.push(name),
            }
        }
    };
    cmp("lat", ours.latitude_deg, 1e-7, "lat");
    cmp("lon", ours.longitude_deg, 1e-7, "lon");
    let alt_key = if tpv.get("altMSL").is_some() {
        "altMSL"
    } else {
        "alt"
    };
    cmp(alt_key, ours.altitude_msl_m, 0.01, "alt");
    cmp("speed", ours.speed_mps, 0.01, "speed");
    cmp("track", ours.course_deg, 0.01, "course");
    why
}

/// gpsd's view of one time: every field as its last TPV of that time
/// reported it (later sentences of a cycle complete earlier TPVs).
fn merge(tpvs: &[Value]) -> Value {
    let mut m = serde_json::Map::new();
    for t in tpvs {
        for (k, v) in t.as_object().unwrap() {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

struct FileResult {
    name: String,
    stats: dronetel_wire::Stats,
    fixes: usize,
    /// Our fixes with a 2D/3D fix at a time gpsd reports no fix for.
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
    let speed_reported = speed_cycles(&input);
    let (fixes, stats) = common::decode_chunked(&NmeaOptions::default(), &input, input.len());
    let mut ours: BTreeMap<i64, Vec<&GpsFix>> = BTreeMap::new();
    for f in &fixes {
        if let Some(t) = common::time_of_day(f) {
            ours.entry((t * 1000.0).round() as i64).or_default().push(f);
        }
    }
    let mut res = FileResult {
        name,
        stats,
        fixes: fixes.len(),
        extra: ours
            .iter()
            .filter(|(t, fs)| !tpvs.contains_key(t) && fs.iter().any(|f| f.mode >= 2))
            .count(),
        gpsd: tpvs.len(),
        matched: 0,
        reasons: BTreeMap::new(),
    };
    if std::env::var("CAPTURE_DEBUG").is_ok_and(|f| res.name.starts_with(&f)) {
        for (t, fs) in &ours {
            if !tpvs.contains_key(t) && fs.iter().any(|f| f.mode >= 2) {
                println!("extra {t}: {:?}", fs[0]);
            }
        }
    }
    for (t, candidates) in &tpvs {
        let Some(mine) = ours.get(t) else {
            *res.reasons.entry("no fix of that time").or_default() += 1;
            continue;
        };
        let mut merged = merge(candidates);
        if !speed_reported.contains(t) {
            let m = merged.as_object_mut().unwrap();
            m.remove("speed");
            m.remove("track");
        }
        let mut best: Option<Vec<&'static str>> = None;
        for f in mine {
            let d = differences(&res.name, f, &merged);
            if best.as_ref().is_none_or(|b| d.len() < b.len()) {
                best = Some(d);
            }
        }
        let best = best.unwrap_or_default();
        if !best.is_empty()
            && std::env::var("CAPTURE_DEBUG").is_ok_and(|f| res.name.starts_with(&f))
        {
            println!("{t}: {best:?}\n  gpsd {merged}\n  ours {mine:?}");
        }
        if best.is_empty() {
            res.matched += 1;
        } else {
            for r in best {
                *res.reasons.entry(r).or_default() += 1;
            }
        }
    }
    res
}

#[test]
fn captures_match_gpsd() {
    let dir = PathBuf::from(DIR);
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
    assert!(!logs.is_empty(), "no *.log captures in {}", dir.display());
    let mut table = String::new();
    writeln!(
        table,
        "{:<34} {:>5} {:>7} {:>6} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} | mismatches",
        "file", "gpsd", "matched", "rate", "extra", "fixes", "ok", "cksum", "frame", "unkn"
    )
    .unwrap();
    let mut failures = Vec::new();
    let (mut total, mut total_matched) = (0, 0);
    for log in &logs {
        let r = compare_file(log);
        total += r.gpsd;
        total_matched += r.matched;
        let rate = if r.gpsd == 0 {
            100.0
        } else {
            100.0 * r.matched as f64 / r.gpsd as f64
        };
        let reasons: Vec<String> = r.reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            table,
            "{:<34} {:>5} {:>7} {:>5.1}% {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} | {}",
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
            reasons.join(", ")
        )
        .unwrap();
        if r.matched < r.gpsd {
            failures.push(format!("{}: {} of {} matched", r.name, r.matched, r.gpsd));
        }
    }
    let overall = 100.0 * total_matched as f64 / total.max(1) as f64;
    writeln!(
        table,
        "overall: {total_matched} of {total} gpsd epochs with a fix matched on every compared field ({overall:.2}%)"
    )
    .unwrap();
    println!("{table}");
    assert!(
        failures.is_empty(),
        "gpsd epochs not matched:\n{}\n{table}",
        failures.join("\n")
    );
}

/// hp58534a.log has no checksums at all: gpsd master (and our default)
/// rejects every sentence, so its `.chk` is empty and the table shows 0/0.
/// With `require_checksum = false` both of its cycles decode.
#[test]
fn unchecksummed_capture_decodes_when_checksums_are_optional() {
    let input = std::fs::read(PathBuf::from(DIR).join("hp58534a.log")).unwrap();
    let (fixes, st) = common::decode_chunked(&NmeaOptions::default(), &input, input.len());
    assert!(fixes.is_empty());
    assert_eq!(st.messages_ok, 0);
    let lax = NmeaOptions {
        require_checksum: false,
        ..NmeaOptions::default()
    };
    let (fixes, st) = common::decode_chunked(&lax, &input, input.len());
    assert_eq!(st.messages_ok, 11);
    assert_eq!(st.unknown_messages, 2, "$PFEC");
    assert_eq!(fixes.len(), 2);
    for (f, tod) in fixes.iter().zip([80_689.0, 80_690.0]) {
        assert_eq!(common::time_of_day(f), Some(tod));
        assert!((f.latitude_deg.unwrap() - -(33.0 + 49.0337 / 60.0)).abs() < 1e-9);
        assert!((f.longitude_deg.unwrap() - (18.0 + 43.9282 / 60.0)).abs() < 1e-9);
        assert_eq!(f.altitude_msl_m, Some(115.4));
        assert_eq!(f.course_deg, Some(318.0));
        assert_eq!(f.speed_mps, Some(0.0));
        assert_eq!(f.satellites_used, Some(7));
        assert_eq!(f.satellites_visible, Some(9));
        assert_eq!(f.sky.len(), 9);
    }
    // Date from the ZDA (2010-10-25, as sent),
    // remembered for the second cycle, which has no ZDA.
    assert_eq!(fixes[0].time.unwrap().seconds.div_euclid(86_400), 14_907);
    assert_eq!(
        fixes[1].time.unwrap().seconds - fixes[0].time.unwrap().seconds,
        1
    );
}
