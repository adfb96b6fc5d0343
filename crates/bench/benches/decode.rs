//! Decoder throughput (sentences, messages or frames per second and MB/s):
//! NMEA on the shared gpsd captures and on firmware-sim's 10 Hz
//! multi-constellation cycle, MAVLink and tracker streams from the
//! simulator (also signed, checked with the key), the `nmea` crate on the
//! same NMEA input, and u-blox UBX on
//! the shared u-blox captures and on encoded synthetic epochs, with the
//! `ublox` crate's packet parser on the same captures.
//!
//! `cargo bench -p dronetel-bench --bench decode`

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, Bencher};
use dronetel_bench::input::{self, Captures};
use dronetel_wire::mavlink::encode::sign_stream;
use dronetel_wire::mavlink::{MavlinkDecoder, MavlinkOptions, SigningKey};
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::tracker::TrackerDecoder;
use dronetel_wire::ubx::encode::{nav_dop, nav_eoe, nav_pvt, nav_sat};
use dronetel_wire::ubx::message::{NavDop, NavPvt, SatEntry};
use dronetel_wire::ubx::{UbloxDecoder, UbxDecoder};
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

static UBX_CAPTURES: LazyLock<input::UbxCaptures> = LazyLock::new(|| {
    input::ubx_captures().expect("the gpsd u-blox captures beside the repository")
});

/// Synthetic 10 Hz u-blox 8 epochs: NAV-PVT, NAV-SAT of 24 satellites,
/// NAV-DOP, NAV-EOE; 2000 epochs of 4 frames.
static UBX_SIM: LazyLock<(Vec<u8>, u64)> = LazyLock::new(|| {
    let mut bytes = Vec::new();
    let sats: Vec<SatEntry> = (1..=24)
        .map(|i| SatEntry {
            gnss_id: i % 4,
            sv_id: i,
            cno: 30 + i,
            elev: 10 + i as i8,
            azim: 15 * i16::from(i),
            flags: 0x08,
            ..SatEntry::default()
        })
        .collect();
    for n in 0..2000u32 {
        let itow = 100_000_000 + n * 100;
        let pvt = NavPvt {
            itow,
            year: 2026,
            month: 12,
            day: 1,
            sec: (n / 10 % 60) as u8,
            valid: 0x07,
            fix_type: 3,
            flags: 0x01,
            num_sv: 24,
            lat: 450_657_718 + n as i32,
            lon: 76_590_617,
            height: 304_600,
            h_msl: 257_400,
            g_speed: 12_000,
            ..NavPvt::default()
        };
        bytes.extend(nav_pvt(&pvt));
        bytes.extend(nav_sat(itow, &sats));
        bytes.extend(nav_dop(&NavDop {
            itow,
            p_dop: 120,
            h_dop: 80,
            v_dop: 90,
            ..NavDop::default()
        }));
        bytes.extend(nav_eoe(itow));
    }
    (bytes, 2000 * 4)
});

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

/// The simulated flight controller's MAVLink 2 frames signed with a key,
/// read by a decoder holding the same key (every signature checked): the
/// cost of `signing_key_file`, beside `mavlink_sim_dronetel`.
static FC_SIGNED: LazyLock<(Vec<u8>, SigningKey)> = LazyLock::new(|| {
    let key = SigningKey::from_passphrase("dronetel bench");
    (sign_stream(&key, &FC.bytes), key)
});

#[divan::bench(name = "mavlink_sim_signed_dronetel")]
fn mavlink_sim_signed(b: Bencher) {
    let (bytes, key) = &*FC_SIGNED;
    let options = MavlinkOptions {
        signing: Some(key.clone()),
        ..MavlinkOptions::default()
    };
    counters(b, bytes.len(), FC.messages()).bench(|| {
        input::decode_chunked(&mut MavlinkDecoder::new(options.clone()), black_box(bytes))
    });
}

#[divan::bench(name = "tracker_sim_dronetel")]
fn tracker_sim(b: Bencher) {
    let r = &*TRACKER;
    counters(b, r.bytes.len(), r.messages())
        .bench(|| input::decode_chunked(&mut TrackerDecoder::default(), black_box(&r.bytes)));
}

#[divan::bench(name = "ubx_captures_dronetel")]
fn ubx_captures(b: Bencher) {
    let c = &*UBX_CAPTURES;
    counters(b, c.bytes.len(), c.frames)
        .bench(|| input::decode_chunked(&mut UbloxDecoder::default(), black_box(&c.bytes)));
}

#[divan::bench(name = "ubx_captures_ublox_crate")]
fn ubx_captures_crate(b: Bencher) {
    let c = &*UBX_CAPTURES;
    counters(b, c.bytes.len(), c.frames).bench(|| parse_with_ublox_crate(black_box(&c.bytes)));
}

#[divan::bench(name = "ubx_sim_10hz_dronetel")]
fn ubx_sim(b: Bencher) {
    let (bytes, frames) = &*UBX_SIM;
    counters(b, bytes.len(), *frames)
        .bench(|| input::decode_chunked(&mut UbxDecoder::default(), black_box(bytes)));
}

/// The `ublox` crate's parser (protocol 23, its default) fed in the same
/// read-sized chunks: packets only, without epochs, fixes or counters
/// (which dronetel's numbers include). Returns the packets it parsed.
fn parse_with_ublox_crate(bytes: &[u8]) -> usize {
    let mut parser: ublox::Parser<Vec<u8>, ublox::proto23::Proto23> = ublox::Parser::default();
    let mut n = 0;
    for chunk in bytes.chunks(input::READ_CHUNK) {
        let mut it = parser.consume_ubx(chunk);
        while let Some(p) = it.next() {
            n += usize::from(p.is_ok());
        }
    }
    n
}

/// The `nmea` crate's stateful parser (sentence → fix state), one sentence
/// per call: it is handed pre-split lines, so it does no framing or
/// resynchronisation (which dronetel's numbers include).
fn parse_with_nmea_crate(lines: &[String]) -> usize {
    let mut state = nmea::Nmea::default();
    lines.iter().filter(|l| state.parse(l).is_ok()).count()
}
