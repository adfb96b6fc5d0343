//! Framing robustness: junk, garbage, `$$`, spliced and truncated lines, bad
//! and missing checksums, over-long lines, line endings, unknown sentences.
//! Each case asserts both the fixes that survive and the counters.
#![allow(clippy::unwrap_used)]

use crate::common::{decode_chunked, sentence};
use dronetel_wire::nmea::NmeaOptions;

const GGA: &str = "GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000";
const GSA: &str = "GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5";
const RMC: &str = "GPRMC,030719.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A";

fn cycle() -> String {
    [GGA, GSA, RMC].map(sentence).concat()
}

fn opts() -> NmeaOptions {
    NmeaOptions::default()
}

/// Decodes at every chunk size from 1 to the whole stream; all must agree.
fn decode_all_sizes(
    opts: &NmeaOptions,
    input: &[u8],
) -> (Vec<dronetel_proto::v1::GpsFix>, dronetel_wire::Stats) {
    let whole = decode_chunked(opts, input, input.len());
    for chunk in 1..input.len() {
        let got = decode_chunked(opts, input, chunk);
        assert_eq!(
            got, whole,
            "chunk size {chunk} differs from the whole stream"
        );
    }
    whole
}

#[test]
fn clean_cycle_gives_one_fix_and_no_errors() {
    let (fixes, st) = decode_all_sizes(&opts(), cycle().as_bytes());
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(
        (st.checksum_errors, st.framing_errors, st.unknown_messages),
        (0, 0, 0)
    );
    assert_eq!(st.bytes, cycle().len() as u64);
    assert!((fixes[0].latitude_deg.unwrap() + 37.784_788_333).abs() < 1e-8);
}

#[test]
fn junk_before_and_between_is_counted_once_per_run() {
    let input = format!(
        "# capture header\r\nnoise noise{}\x00\x01\x02\r\n{}",
        sentence(GGA),
        [GSA, RMC].map(sentence).concat()
    );
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(st.framing_errors, 3);
}

#[test]
fn binary_garbage_is_skipped_and_resynced() {
    let mut input = vec![0xff, 0x00, 0xb5, 0x62, 0x01, 0x07, b'$', 0x92, 0x10, b'\n'];
    input.extend_from_slice(cycle().as_bytes());
    // Garbage glued in front of a sentence, as in ublox-8.log line 11.
    let mut glued = vec![0xb5, 0x62, 0x0b, 0x04];
    glued.extend_from_slice(sentence(GGA).as_bytes());
    input.extend_from_slice(&glued);
    let (fixes, st) = decode_all_sizes(&opts(), &input);
    assert_eq!(st.messages_ok, 4);
    assert_eq!(
        fixes.len(),
        1,
        "second GGA has the same time: same cycle, not a new fix"
    );
    // Leading garbage run; "$" followed by binary; glued garbage run.
    assert_eq!(st.framing_errors, 3);
}

#[test]
fn double_dollar_prefixes_are_accepted() {
    let input = cycle().replace('$', "$$");
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(st.framing_errors, 0);
}

#[test]
fn spliced_and_truncated_sentences_are_dropped() {
    let gga = sentence(GGA);
    // A GGA cut short by the next sentence, then a complete cycle.
    let input = format!("{}{}{}", &gga[..30], cycle(), &gga[..25]);
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.messages_ok, 3);
    // The spliced fragment, and the unterminated tail at end of stream.
    assert_eq!(st.framing_errors, 2);
}

#[test]
fn bad_checksum_is_counted_and_the_next_sentence_decodes() {
    let bad = sentence(GGA).replace("*7D", "*7E");
    assert_ne!(bad, sentence(GGA));
    let input = format!("{bad}{}", [GSA, RMC].map(sentence).concat());
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(st.checksum_errors, 1);
    assert_eq!(st.messages_ok, 2);
    assert_eq!(fixes.len(), 1);
    assert_eq!(
        fixes[0].altitude_msl_m, None,
        "altitude came only from the rejected GGA"
    );
    assert!(
        fixes[0].latitude_deg.is_some(),
        "RMC still gives the position"
    );
}

#[test]
fn lower_case_checksum_hex_is_accepted() {
    let body = "GNGSA,A,3,67,83,76,82,68,,,,,,,,1.56,0.91,1.27";
    let upper = sentence(body);
    assert!(upper.ends_with("*1D\r\n"));
    let lower = upper.replace("*1D", "*1d");
    let input = format!("{}{lower}{}", sentence(GGA), sentence(RMC));
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(st.checksum_errors, 0);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(fixes[0].pdop, Some(1.56));
}

#[test]
fn missing_checksum_rejected_by_default_accepted_when_allowed() {
    let input = format!("${GGA}\r\n${GSA}\r\n${RMC}\r\n");
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert!(fixes.is_empty());
    assert_eq!(st.messages_ok, 0);
    assert_eq!(st.framing_errors, 3);

    let lax = NmeaOptions {
        require_checksum: false,
        ..NmeaOptions::default()
    };
    let (fixes, st) = decode_all_sizes(&lax, input.as_bytes());
    assert_eq!(st.messages_ok, 3);
    assert_eq!(fixes.len(), 1);
    assert_eq!(fixes[0].altitude_msl_m, Some(59.9));
    // A wrong checksum is still rejected when checksums are optional.
    let bad = format!(
        "{}{}",
        sentence(GGA).replace("*7D", "*00"),
        [GSA, RMC].map(sentence).concat()
    );
    let (_, st) = decode_all_sizes(&lax, bad.as_bytes());
    assert_eq!(st.checksum_errors, 1);
}

#[test]
fn over_long_lines_are_discarded_and_counted() {
    let long = sentence(&format!("GPTXT,01,01,02,{}", "x".repeat(300)));
    let input = format!("{long}{}", cycle());
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.framing_errors, 1);
    assert_eq!(st.messages_ok, 3);
    // A tighter limit rejects the GGA (74 bytes + "*7D") but keeps the rest.
    let tight = NmeaOptions {
        max_sentence_len: 70,
        ..NmeaOptions::default()
    };
    let (_, st) = decode_all_sizes(&tight, cycle().as_bytes());
    assert_eq!(st.messages_ok, 2);
    assert_eq!(st.framing_errors, 1);
}

#[test]
fn any_mix_of_line_endings_and_blank_lines() {
    let s = [GGA, GSA, RMC].map(|b| sentence(b).trim_end().to_owned());
    let input = format!("\r\n\n{}\r{}\n\n\r\n{}\n\r", s[0], s[1], s[2]);
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(fixes.len(), 1);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(st.framing_errors, 0);
}

#[test]
fn unknown_and_proprietary_sentences_are_counted_not_fatal() {
    let input = format!(
        "{}{}{}{}{}{}",
        sentence("GPTXT,01,01,02,ANTSTATUS=OK"),
        sentence("PMTK001,604,3"),
        sentence("PQGSV,1,1,01,201,10,100,30"),
        sentence(GGA),
        sentence("GPHDT,25.50,T"),
        [GSA, RMC].map(sentence).concat()
    );
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(st.unknown_messages, 4);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(st.framing_errors, 0);
    assert_eq!(fixes.len(), 1);
    assert!(
        fixes[0].sky.is_empty(),
        "$PQGSV is proprietary, not a PQ talker"
    );
}

#[test]
fn malformed_fields_reject_the_sentence_only() {
    let bad_time =
        sentence("GPGGA,03a719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000");
    let bad_hemi = sentence("GPGLL,3747.0873,X,17518.8938,E,030719.000,A,A");
    let short = sentence("GPGSA,A,3,17");
    let input = format!("{bad_time}{bad_hemi}{short}{}", cycle());
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(st.framing_errors, 3);
    assert_eq!(st.messages_ok, 3);
    assert_eq!(fixes.len(), 1);
}

#[test]
fn corrupt_addresses_are_framing_errors() {
    let input = format!(
        "{}{}{}",
        sentence("GPV427.00,1"),
        sentence("GP,1,2"),
        cycle()
    );
    let (fixes, st) = decode_all_sizes(&opts(), input.as_bytes());
    assert_eq!(st.framing_errors, 2);
    assert_eq!(fixes.len(), 1);
}

/// Deterministic pseudo-random bytes (xorshift64).
fn noise(seed: &mut u64, len: usize, allow_dollar: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let b = (*seed >> 24) as u8;
        if allow_dollar || b != b'$' {
            out.push(b);
        }
    }
    out
}

#[test]
fn random_garbage_between_cycles_loses_no_cycle() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let mut input = Vec::new();
    let cycles = 40;
    for k in 0..cycles {
        let len = (k * 37) % 300;
        input.extend(noise(&mut seed, len, false));
        // Garbage may end mid-line: a line end makes the sentence start
        // cleanly, as after any real glitch.
        input.extend_from_slice(b"\r\n");
        let t = format!("0307{:02}.000", k % 60);
        let body = |s: &str| s.replace("030719.000", &t);
        input.extend(
            [GGA, GSA, RMC]
                .map(|s| sentence(&body(s)))
                .concat()
                .into_bytes(),
        );
    }
    for chunk in [1, 3, 64, 4096] {
        let (fixes, st) = decode_chunked(&opts(), &input, chunk);
        assert_eq!(fixes.len(), cycles, "chunk {chunk}");
        assert_eq!(st.messages_ok, 3 * cycles as u64);
        assert_eq!(st.checksum_errors, 0);
    }
}

#[test]
fn pure_noise_never_panics_and_stays_bounded() {
    let mut seed = 42;
    let input = noise(&mut seed, 200_000, true);
    for chunk in [1, 7, 1000] {
        // decode_chunked asserts the input buffer never exceeds the limit.
        let (_, st) = decode_chunked(&opts(), &input, chunk);
        assert_eq!(st.bytes, input.len() as u64);
        assert!(st.framing_errors > 0);
    }
}

#[test]
fn endless_gsv_without_a_timed_sentence_stays_bounded() {
    let set = [
        sentence("GPGSV,2,1,05,01,40,083,46,02,17,308,41,03,07,344,39,04,22,228,45"),
        sentence("GPGSV,2,2,05,05,10,100,"),
    ]
    .concat();
    let mut input = set.repeat(5_000);
    input.push_str(&cycle());
    let (fixes, st) = decode_chunked(&opts(), input.as_bytes(), 4096);
    assert_eq!(st.messages_ok, 10_003);
    assert_eq!(fixes.len(), 1);
    assert!(
        fixes[0].sky.len() <= 512,
        "sky capped, got {}",
        fixes[0].sky.len()
    );
    assert_eq!(fixes[0].satellites_visible, Some(5));
}
