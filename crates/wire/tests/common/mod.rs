//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::BytesMut;
use dronetel_proto::v1::GpsFix;
use dronetel_wire::nmea::{NmeaDecoder, NmeaOptions};
use dronetel_wire::{Reading, SensorDecoder, Stats};
use tokio_util::codec::Decoder;

/// Feeds `input` in chunks of `chunk` bytes, then ends the stream.
pub(crate) fn decode_chunked(
    opts: &NmeaOptions,
    input: &[u8],
    chunk: usize,
) -> (Vec<GpsFix>, Stats) {
    decode_with(NmeaDecoder::new(opts.clone()), input, chunk)
}

/// Feeds `input` whole, without ending the stream.
pub(crate) fn decode_open(dec: &mut NmeaDecoder, input: &[u8]) -> Vec<GpsFix> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(Reading::Gps(f)) = dec.decode(&mut buf).unwrap() {
        out.push(f);
    }
    out
}

/// `$body*hh\r\n` with a correct checksum.
pub(crate) fn sentence(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{sum:02X}\r\n")
}

/// Seconds of day (with fraction) of a fix's time.
pub(crate) fn time_of_day(f: &GpsFix) -> Option<f64> {
    f.time
        .as_ref()
        .map(|t| (t.seconds.rem_euclid(86_400)) as f64 + f64::from(t.nanos) * 1e-9)
}

/// Feeds `input` to any sensor decoder in chunks of `chunk` bytes, then
/// ends the stream; checks the input buffer is always consumed (which
/// bounds it).
pub(crate) fn decode_with<D: SensorDecoder>(
    mut dec: D,
    input: &[u8],
    chunk: usize,
) -> (Vec<GpsFix>, Stats) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(Reading::Gps(f)) = dec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        assert!(buf.is_empty(), "the decoder left {} bytes", buf.len());
    }
    while let Some(Reading::Gps(f)) = dec.decode_eof(&mut buf).unwrap() {
        out.push(f);
    }
    (out, dec.stats())
}
