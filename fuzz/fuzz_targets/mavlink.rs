//! MAVLink decoder: arbitrary bytes at an arbitrary chunk size never panic.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::drive(dronetel_wire::mavlink::MavlinkDecoder::default(), data);
});
