//! u-blox decoders: arbitrary bytes at an arbitrary chunk size never panic,
//! through the UBX-only decoder and the combined UBX + NMEA one.
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::drive(dronetel_wire::ubx::UbxDecoder::default(), data);
    common::drive(dronetel_wire::ubx::UbloxDecoder::default(), data);
});
