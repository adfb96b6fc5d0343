//! Decoder throughput (sentences, messages or frames per second and MB/s):
//! NMEA on the shared gpsd captures and on firmware-sim's 10 Hz
//! multi-constellation cycle, MAVLink and tracker streams from the
//! simulator, and the `nmea` crate on the same NMEA input.
//!
//! `cargo bench -p dronetel-bench --bench decode`

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, Bencher};
use dronetel_bench::input::{self, Captures};
use dronetel_wire::mavlink::MavlinkDecoder;
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::tracker::TrackerDecoder;
use firmware_sim::flood::{self, FloodDevice, FloodOptions, Recording};

fn main() {
    divan::main();
}

static CAPTURES: LazyLock<Captures> =
    LazyLock::new(|| input::captures().expect("the gpsd captures beside the repository"));

/// About one second of each simulated device at nominal rate is too little
/// to time; 2000 messages are a few hundred cycles.
const MESSAGES: u64 = 20_000;

static GPS: LazyLock<Recording> =
    LazyLock::new(|| flood::record(FloodDevice::Gps, &FloodOptions::default(), MESSAGES));
static FC: LazyLock<Recording> =
    LazyLock::new(|| flood::record(FloodDevice::Fc, &FloodOptions::default(), MESSAGES));
static TRACKER: LazyLock<Recording> =
    LazyLock::new(|| flood::record(FloodDevice::Tracker, &FloodOptions::default(), MESSAGES));

/// The synthetic cycle's sentences as text, for the `nmea` crate.
static GPS_LINES: LazyLock<Vec<String>> = LazyLock::new(|| {
    String::from_utf8_lossy(&GPS.bytes)
        .lines()
        .map(str::to_owned)
        .collect()
});

fn counters<'a, 'b>(b: Bencher<'a, 'b>, bytes: usize, items: u64) -> Bencher<'a, 'b> {
    b.counter(BytesCount::new(bytes))
        .counter(ItemsCount::new(items))
}

#[divan::bench(name = "nmea_captures_dronetel")]
fn nmea_captures(b: Bencher) {
    let c = &*CAPTURES;
    counters(b, c.bytes.len(), c.sentences)
        .bench(|| input::decode_chunked(&mut NmeaDecoder::default(), black_box(&c.bytes)));
}

#[divan::bench(name = "nmea_captures_nmea_crate")]
fn nmea_captures_crate(b: Bencher) {
    let c = &*CAPTURES;
    counters(b, c.bytes.len(), c.sentences).bench(|| parse_with_nmea_crate(black_box(&c.lines)));
}

#[divan::bench(name = "nmea_sim_10hz_dronetel")]
fn nmea_sim(b: Bencher) {
    let r = &*GPS;
    counters(b, r.bytes.len(), r.messages())
        .bench(|| input::decode_chunked(&mut NmeaDecoder::default(), black_box(&r.bytes)));
}

#[divan::bench(name = "nmea_sim_10hz_nmea_crate")]
fn nmea_sim_crate(b: Bencher) {
    let r = &*GPS;
    counters(b, r.bytes.len(), r.messages()).bench(|| parse_with_nmea_crate(black_box(&GPS_LINES)));
}

#[divan::bench(name = "mavlink_sim_dronetel")]
fn mavlink_sim(b: Bencher) {
    let r = &*FC;
    counters(b, r.bytes.len(), r.messages())
        .bench(|| input::decode_chunked(&mut MavlinkDecoder::default(), black_box(&r.bytes)));
}

#[divan::bench(name = "tracker_sim_dronetel")]
fn tracker_sim(b: Bencher) {
    let r = &*TRACKER;
    counters(b, r.bytes.len(), r.messages())
        .bench(|| input::decode_chunked(&mut TrackerDecoder::default(), black_box(&r.bytes)));
}

/// The `nmea` crate's stateful parser (sentence → fix state), one sentence
/// per call: it is handed pre-split lines, so it does no framing or
/// resynchronisation (which dronetel's numbers include).
fn parse_with_nmea_crate(lines: &[String]) -> usize {
    let mut state = nmea::Nmea::default();
    lines.iter().filter(|l| state.parse(l).is_ok()).count()
}
