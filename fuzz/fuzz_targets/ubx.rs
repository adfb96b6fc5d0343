//! u-blox decoders: arbitrary bytes at an arbitrary chunk size never panic,
//! through the UBX-only decoder and the combined UBX + NMEA one, also with
//! the receiver set-up on (arbitrary ACK-ACK / ACK-NAK answers).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::drive(dronetel_wire::ubx::UbxDecoder::default(), data);
    common::drive(dronetel_wire::ubx::UbloxDecoder::default(), data);
    let mut configuring = dronetel_wire::ubx::UbloxDecoder::new(dronetel_wire::ubx::UbxOptions {
        configure: true,
        ..Default::default()
    });
    dronetel_wire::SensorDecoder::on_open(&mut configuring);
    common::drive(configuring, data);
});
