//! Fault suite, point 6: a long stream of random bytes into each decoder.
//! No panic, every byte consumed and counted, and memory stays bounded: the
//! process's resident set grows by less than 8 MiB over the stream, which is
//! generated chunk by chunk (never held whole).
//! 50 MB per decoder takes about ten seconds in a debug build.
//! Alone in its binary: it measures this process's resident set, which
//! tests running beside it would grow.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::BytesMut;
use dronetel_wire::mavlink::MavlinkDecoder;
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::tracker::TrackerDecoder;
use dronetel_wire::ubx::{UbloxDecoder, UbxDecoder};
use dronetel_wire::{SensorDecoder, Stats};

const CHUNK: usize = 64 * 1024;
const BOUND: u64 = 8 * 1024 * 1024;

/// Resident set size of this process, bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// xorshift64*: reproducible random bytes without a dependency.
struct Random(u64);

impl Random {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}

/// Feeds `total` random bytes to `d`; returns its stats and the RSS growth.
fn feed<D: SensorDecoder>(mut d: D, total: usize, seed: u64) -> (Stats, i64, f64) {
    let mut rng = Random(seed);
    let mut chunk = vec![0u8; CHUNK];
    let mut buf = BytesMut::with_capacity(CHUNK);
    let before = rss();
    let mut peak = before;
    let t0 = Instant::now();
    let mut fed = 0;
    while fed < total {
        let n = CHUNK.min(total - fed);
        rng.fill(&mut chunk[..n]);
        buf.extend_from_slice(&chunk[..n]);
        while let Some(_reading) = d.decode(&mut buf).unwrap() {}
        assert!(buf.is_empty(), "the decoder left {} bytes", buf.len());
        fed += n;
        if fed % (16 * CHUNK) == 0 {
            peak = peak.max(rss());
        }
    }
    while d.decode_eof(&mut buf).unwrap().is_some() {}
    let secs = t0.elapsed().as_secs_f64();
    let growth = peak.max(rss()) as i64 - before as i64;
    let st = d.stats();
    assert_eq!(st.bytes, total as u64, "every byte counted");
    (st, growth, secs)
}

fn all_decoders(total: usize) {
    let runs = [
        ("nmea", feed(NmeaDecoder::default(), total, 1)),
        ("mavlink", feed(MavlinkDecoder::default(), total, 2)),
        ("tracker", feed(TrackerDecoder::default(), total, 3)),
        ("ubx", feed(UbxDecoder::default(), total, 4)),
        ("ublox", feed(UbloxDecoder::default(), total, 5)),
    ];
    for (name, (st, growth, secs)) in runs {
        eprintln!(
            "{name}: {total} random bytes in {secs:.2} s ({:.1} MB/s), RSS {:+} KiB; \
             {} ok, {} checksum, {} framing, {} unknown, {} decode errors",
            total as f64 / secs / 1e6,
            growth / 1024,
            st.messages_ok,
            st.checksum_errors,
            st.framing_errors,
            st.unknown_messages,
            st.decode_errors
        );
        assert!(growth < BOUND as i64, "{name}: RSS grew {growth} bytes");
        // Random bytes are junk: errors are counted, almost nothing passes.
        assert!(st.checksum_errors + st.framing_errors > 0, "{name}: {st:?}");
    }
}

#[test]
fn fifty_megabytes_of_random_bytes_into_each_decoder() {
    all_decoders(50_000_000);
}
