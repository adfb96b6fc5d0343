//! UBX frame builders with checksums: for tests, benchmarks and
//! `firmware-sim`. Payload layouts are those the decoder reads
//! ([`super::message`]), so `decode(encode(x))` gives `x` back.

use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix};
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

/// `v` scaled and rounded to an `i32` (saturating; NaN is 0).
fn scaled(v: Option<f64>, scale: f64) -> i32 {
    v.map_or(0, |v| (v * scale).round() as i32)
}

/// Same for unsigned accuracies.
fn scaled_u(v: Option<f64>, scale: f64) -> u32 {
    v.map_or(0, |v| (v * scale).round() as u32)
}

/// The NAV-PVT a u-blox 8 receiver would send for `fix`, with
/// `leap_seconds` (GPS - UTC) to place it in GPS time. Values the fix lacks
/// are zero; velocity comes from the N/E/D fields, else from speed, course
/// and climb.
pub fn pvt_of_fix(fix: &GpsFix, leap_seconds: i32) -> NavPvt {
    let mode = FixMode::try_from(fix.mode).unwrap_or_default();
    let quality = FixQuality::try_from(fix.quality).unwrap_or_default();
    let fix_type = match (mode, quality) {
        (FixMode::FixMode2d, FixQuality::DeadReckoning) => 1,
        (FixMode::FixMode2d, _) => 2,
        (FixMode::FixMode3d, FixQuality::Manual) => 5,
        (FixMode::FixMode3d, FixQuality::DeadReckoning) => 4,
        (FixMode::FixMode3d, _) => 3,
        _ => 0,
    };
    let has_fix = fix_type != 0;
    let diff = matches!(
        quality,
        FixQuality::Dgps | FixQuality::RtkFloat | FixQuality::RtkFixed
    );
    let carr: u8 = match quality {
        FixQuality::RtkFloat => 1,
        FixQuality::RtkFixed => 2,
        _ => 0,
    };
    let ok = fix.gnss_fix_ok.unwrap_or(has_fix);
    let mut p = NavPvt {
        fix_type,
        flags: u8::from(ok) | u8::from(diff) << 1 | carr << 6,
        num_sv: fix.satellites_used.map_or(0, |n| n.min(255) as u8),
        lat: scaled(fix.latitude_deg, 1e7),
        lon: scaled(fix.longitude_deg, 1e7),
        height: scaled(
            fix.altitude_hae_m.or(fix
                .altitude_msl_m
                .zip(fix.geoid_separation_m)
                .map(|(m, s)| m + s)),
            1e3,
        ),
        h_msl: scaled(fix.altitude_msl_m, 1e3),
        h_acc: scaled_u(fix.horizontal_error_m, 1e3),
        v_acc: scaled_u(fix.vertical_error_m, 1e3),
        g_speed: scaled(fix.speed_mps, 1e3),
        head_mot: scaled(fix.course_deg, 1e5),
        s_acc: scaled_u(fix.speed_error_mps, 1e3),
        head_acc: scaled_u(fix.course_error_deg, 1e5),
        p_dop: fix.pdop.map_or(0, |d| (d * 100.0).round() as u16),
        ..NavPvt::default()
    };
    let (n, e) = match (fix.velocity_north_mps, fix.velocity_east_mps) {
        (Some(n), Some(e)) => (Some(n), Some(e)),
        _ => match (fix.speed_mps, fix.course_deg) {
            (Some(s), Some(c)) => {
                let (sin, cos) = c.to_radians().sin_cos();
                (Some(s * cos), Some(s * sin))
            }
            _ => (None, None),
        },
    };
    p.vel_n = scaled(n, 1e3);
    p.vel_e = scaled(e, 1e3);
    p.vel_d = scaled(fix.velocity_down_mps.or(fix.climb_mps.map(|c| -c)), 1e3);
    if let Some(t) = &fix.time {
        let secs = t.seconds;
        let gps = secs - crate::calendar::GPS_EPOCH_UNIX + i64::from(leap_seconds);
        let tow_ms =
            gps.rem_euclid(crate::calendar::WEEK_SECS) * 1000 + i64::from(t.nanos / 1_000_000);
        let (year, month, day) = crate::calendar::civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        p.itow = u32::try_from(tow_ms).unwrap_or(0);
        p.year = u16::try_from(year).unwrap_or(0);
        p.month = month;
        p.day = day;
        p.hour = (sod / 3600) as u8;
        p.min = (sod / 60 % 60) as u8;
        p.sec = (sod % 60) as u8;
        p.nano = t.nanos;
        p.valid = 0x07;
    }
    p
}

/// The sky of `fix` as NAV-SAT entries (GLONASS 65..96 back to slots).
pub fn sats_of_fix(fix: &GpsFix) -> Vec<SatEntry> {
    fix.sky
        .iter()
        .map(|s| {
            let c = Constellation::try_from(s.constellation).unwrap_or_default();
            let gnss_id = match c {
                Constellation::Sbas => 1,
                Constellation::Galileo => 2,
                Constellation::Beidou => 3,
                Constellation::Qzss => 5,
                Constellation::Glonass => 6,
                Constellation::Navic => 7,
                _ => 0,
            };
            let prn = if c == Constellation::Glonass && s.prn > 64 {
                s.prn - 64
            } else {
                s.prn
            };
            SatEntry {
                gnss_id,
                sv_id: u8::try_from(prn).unwrap_or(0),
                cno: s.snr_dbhz.map_or(0, |v| v.round().clamp(0.0, 255.0) as u8),
                // -91: "unknown" elevation.
                elev: s.elevation_deg.map_or(-91, |v| v.round() as i8),
                azim: s.azimuth_deg.map_or(0, |v| v.round() as i16),
                pr_res: 0,
                flags: if s.used { 0x08 } else { 0 },
            }
        })
        .collect()
}

/// One whole epoch for `fix` as a u-blox 8 sends it: NAV-PVT, NAV-SAT
/// (when the fix has a sky), NAV-DOP, NAV-EOE. For `firmware-sim` and
/// round-trip tests.
pub fn epoch_of_fix(fix: &GpsFix, leap_seconds: i32) -> Vec<u8> {
    let p = pvt_of_fix(fix, leap_seconds);
    let dop = |d: Option<f64>| d.map_or(9999, |d| (d * 100.0).round() as u16);
    let mut out = nav_pvt(&p);
    if !fix.sky.is_empty() {
        out.extend(nav_sat(p.itow, &sats_of_fix(fix)));
    }
    out.extend(nav_dop(&NavDop {
        itow: p.itow,
        g_dop: 9999,
        p_dop: dop(fix.pdop),
        t_dop: 9999,
        v_dop: dop(fix.vdop),
        h_dop: dop(fix.hdop),
        n_dop: 9999,
        e_dop: 9999,
    }));
    out.extend(nav_eoe(p.itow));
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
