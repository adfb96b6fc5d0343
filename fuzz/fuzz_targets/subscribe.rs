//! The stream's `Subscribe`, structure-aware: the input is read as a
//! `Subscribe` (protobuf bytes), and also used to build one field by field
//! from extremes (rates from 5e-324 to inf and nan, unknown kinds, empty
//! and long sensor names). Turning it into a selection never panics (the
//! panic this target exists for was `max_hz` 5e-324 through
//! `Duration::from_secs_f64`), and an accepted rate is a usable interval.
#![no_main]

use dronetel::selection::Selection;
use dronetel_proto::v1::{RateLimit, Subscribe};
use prost::Message;

const RATES: &[f64] = &[
    5e-324, 1e-300, 1e-10, 0.001, 1.0, 1000.0, 1000.0000001, 1e308, 0.0, -0.0, -1.0,
    f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, f64::MAX,
];

fn check(s: &Subscribe) {
    if let Ok(sel) = Selection::from_subscribe(s) {
        for d in sel.min_interval.values() {
            assert!(!d.is_zero(), "an accepted rate gave a zero interval");
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Subscribe::decode(data) {
        check(&s);
    }
    let mut b = data.iter().copied();
    let mut s = Subscribe::default();
    while let Some(op) = b.next() {
        let v = b.next().unwrap_or(0);
        match op % 4 {
            0 => s.sensors.push("s".repeat(usize::from(v))),
            1 => s.kinds.push(i32::from(v as i8)),
            2 => s.max_rate.push(RateLimit {
                kind: i32::from(v % 12),
                max_hz: RATES[usize::from(b.next().unwrap_or(0)) % RATES.len()],
            }),
            _ => s.max_rate.push(RateLimit {
                kind: i32::from(v as i8),
                max_hz: f64::from_bits(u64::from_le_bytes([
                    v,
                    b.next().unwrap_or(0),
                    b.next().unwrap_or(0),
                    b.next().unwrap_or(0),
                    b.next().unwrap_or(0),
                    b.next().unwrap_or(0),
                    b.next().unwrap_or(0),
                    b.next().unwrap_or(0),
                ])),
            }),
        }
    }
    check(&s);
});
