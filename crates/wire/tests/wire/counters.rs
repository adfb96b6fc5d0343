//! The decoder's counters on every real capture, checked against the
//! sentence inventory in the captures' README (written independently from
//! the raw files): every sentence is either used (`messages_ok`), rejected
//! for its checksum, unknown, or one of the README's "without checksum".
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;

use dronetel_wire::nmea::NmeaOptions;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/gpsd");

/// One README row: file, sentence count, "N without checksum", "N bad
/// checksum".
struct Inventory {
    file: String,
    sentences: u64,
    without_checksum: u64,
    bad_checksum: Option<u64>,
}

/// The number before `what` in a README "oddities" cell ("23 bad checksum").
fn count_of(cell: &str, what: &str) -> Option<u64> {
    cell.split(';')
        .map(str::trim)
        .find_map(|part| part.strip_suffix(what)?.trim().parse().ok())
}

fn inventory() -> Vec<Inventory> {
    let readme = std::fs::read_to_string(Path::new(DIR).join("README.md")).unwrap();
    let mut rows = Vec::new();
    for line in readme
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(".log"))
    {
        let cols: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        // | file | receiver | content | count | interval | talkers | oddities |
        rows.push(Inventory {
            file: cols[0].to_owned(),
            sentences: cols[3].parse().unwrap(),
            without_checksum: count_of(cols[6], "without checksum").unwrap_or(0),
            bad_checksum: count_of(cols[6], "bad checksum"),
        });
    }
    rows
}

#[test]
fn every_sentence_of_every_capture_is_accounted_for() {
    let rows = inventory();
    assert!(
        rows.len() >= 28,
        "README inventory not found ({} rows)",
        rows.len()
    );
    for row in rows {
        // Dropped bytes in this one corrupt sentences into fragments the
        // README counts by hand ("(corrupt address) 12", "5 truncated/spliced
        // fragments"): no exact inventory to check against.
        if row.file == "gp-320fw-2019-04-07-coldboot.log" {
            continue;
        }
        let input = std::fs::read(Path::new(DIR).join("nmea").join(&row.file)).unwrap();
        let (_, st) = common::decode_chunked(&NmeaOptions::default(), &input, input.len());
        let seen = st.messages_ok + st.checksum_errors + st.unknown_messages + row.without_checksum;
        assert_eq!(seen, row.sentences, "{}: {st:?}", row.file);
        if let Some(bad) = row.bad_checksum {
            assert_eq!(st.checksum_errors, bad, "{}", row.file);
        }
    }
}
