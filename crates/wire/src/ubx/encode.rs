//! UBX frame builders with checksums: for tests, benchmarks and
//! `firmware-sim`. Payload layouts are those the decoder reads
//! ([`super::message`]), so `decode(encode(x))` gives `x` back.

use thiserror::Error;

use super::framer::{fletcher, SYNC1, SYNC2};
use super::message::{NavDop, NavPvt, NavTimeGps, SatEntry};

/// Why a frame could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The UBX length field is 16 bits.
    #[error("UBX payload of {0} bytes is longer than 65535")]
    PayloadTooLong(usize),
}

/// Most satellites NAV-SAT can carry (`numSvs` is one byte).
pub const NAV_SAT_MAX: usize = 255;

/// Appends a frame to `out`: sync, class, id, length, the payload that
/// `payload` writes, checksum. Nothing is allocated beyond `out`'s growth.
pub fn write_frame(
    out: &mut Vec<u8>,
    class: u8,
    id: u8,
    payload: impl FnOnce(&mut Vec<u8>),
) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[SYNC1, SYNC2, class, id, 0, 0]);
    payload(out);
    let len = out.len() - start - 6;
    let Ok(len16) = u16::try_from(len) else {
        out.truncate(start);
        return Err(EncodeError::PayloadTooLong(len));
    };
    out.splice(start + 4..start + 6, len16.to_le_bytes());
    let sum = fletcher(out.get(start + 2..).unwrap_or_default());
    out.extend_from_slice(&sum);
    Ok(())
}

/// One frame of any class and id around `payload`.
pub fn frame(class: u8, id: u8, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    write_frame(&mut out, class, id, |o| o.extend_from_slice(payload))?;
    Ok(out)
}

/// Infallible for the fixed-size messages below (their payloads are far
/// under the 16-bit limit).
fn fixed(class: u8, id: u8, payload: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(100);
    // Cannot fail: every caller writes fewer than 100 bytes.
    let _ = write_frame(&mut out, class, id, payload);
    out
}

/// UBX-NAV-PVT (92 bytes).
pub fn nav_pvt(p: &NavPvt) -> Vec<u8> {
    fixed(0x01, 0x07, |o| p.write(o))
}

/// UBX-NAV-DOP.
pub fn nav_dop(d: &NavDop) -> Vec<u8> {
    fixed(0x01, 0x04, |o| d.write(o))
}

/// UBX-NAV-TIMEGPS.
pub fn nav_timegps(t: &NavTimeGps) -> Vec<u8> {
    fixed(0x01, 0x20, |o| t.write(o))
}

/// UBX-NAV-EOE: the epoch of `itow` is complete.
pub fn nav_eoe(itow: u32) -> Vec<u8> {
    fixed(0x01, 0x61, |o| o.extend_from_slice(&itow.to_le_bytes()))
}

/// UBX-NAV-SAT (version 1) of the first [`NAV_SAT_MAX`] of `sats`.
pub fn nav_sat(itow: u32, sats: &[SatEntry]) -> Vec<u8> {
    let sats = sats.get(..NAV_SAT_MAX.min(sats.len())).unwrap_or_default();
    let mut out = Vec::with_capacity(16 + 12 * sats.len());
    // At most 8 + 12 * 255 bytes: cannot exceed the 16-bit length.
    let _ = write_frame(&mut out, 0x01, 0x35, |o| {
        o.extend_from_slice(&itow.to_le_bytes());
        o.extend_from_slice(&[1, u8::try_from(sats.len()).unwrap_or(u8::MAX), 0, 0]);
        for s in sats {
            s.write(o);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frames_carry_length_and_checksum() {
        let f = frame(0x06, 0x01, &[0x01, 0x07]).unwrap();
        assert_eq!(
            f,
            [0xB5, 0x62, 0x06, 0x01, 0x02, 0x00, 0x01, 0x07, 0x11, 0x3A]
        );
        assert_eq!(nav_eoe(7).len(), 8 + 4);
        assert_eq!(nav_pvt(&NavPvt::default()).len(), 8 + 92);
        assert_eq!(nav_dop(&NavDop::default()).len(), 8 + 18);
        assert_eq!(nav_timegps(&NavTimeGps::default()).len(), 8 + 16);
        let sats = vec![SatEntry::default(); 300];
        assert_eq!(nav_sat(0, &sats).len(), 8 + 8 + 12 * NAV_SAT_MAX);
    }

    #[test]
    fn over_long_payload_is_an_error_and_leaves_out_untouched() {
        let mut out = vec![1, 2, 3];
        let err = write_frame(&mut out, 1, 2, |o| o.resize(o.len() + 70_000, 0));
        assert_eq!(err, Err(EncodeError::PayloadTooLong(70_000)));
        assert_eq!(out, [1, 2, 3]);
    }
}
