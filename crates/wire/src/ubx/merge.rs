//! One fix per epoch on a port that carries both NMEA and UBX: each
//! protocol assembles its own epochs, and this joins the two fixes of one
//! time, UBX values winning where both describe a value.
//!
//! Until a UBX fix has been seen, NMEA fixes pass straight through (a
//! receiver sending only NMEA works as under `protocol = "nmea"`). Once UBX
//! is flowing, an NMEA fix is held (at most [`MAX_HELD`]) until the UBX fix
//! of the same time is published and only fills the values UBX lacks (MSL
//! altitude next to NAV-SOL, a sky view, ...). NMEA fixes of a time UBX
//! never reports are published alone, in time order, when a later UBX fix
//! or the idle gap comes; an NMEA fix whose time the UBX fix has already
//! been published for is dropped (its epoch was published).

use std::collections::VecDeque;

use dronetel_proto::v1::{FixMode, FixQuality, GpsFix};
use prost_types::Timestamp;
use tracing::debug;

/// Most NMEA fixes held waiting for their UBX partner.
const MAX_HELD: usize = 4;

/// The time of a fix to 10 ms (NMEA's resolution), for pairing.
fn key(t: Option<&Timestamp>) -> Option<i64> {
    t.map(|t| {
        (i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos) + 5_000_000)
            .div_euclid(10_000_000) as i64
    })
}

/// The NMEA/UBX joiner.
#[derive(Debug, Default)]
pub(crate) struct Merge {
    ubx: bool,
    last_ubx: Option<i64>,
    /// Unix seconds of the last UBX fix, to date NMEA fixes.
    last_ubx_time: Option<i64>,
    held: VecDeque<GpsFix>,
}

impl Merge {
    /// A fix assembled from UBX.
    pub(crate) fn ubx(&mut self, mut fix: GpsFix, out: &mut VecDeque<GpsFix>) {
        self.ubx = true;
        let t = key(fix.time.as_ref());
        while let Some(f) = self.held.front() {
            let ft = key(f.time.as_ref());
            if ft < t {
                if let Some(f) = self.held.pop_front() {
                    out.push_back(f);
                }
            } else {
                if ft == t {
                    if let Some(f) = self.held.pop_front() {
                        fill(&mut fix, f);
                    }
                }
                break;
            }
        }
        if t.is_some() {
            self.last_ubx = t;
            self.last_ubx_time = fix.time.as_ref().map(|t| t.seconds);
        }
        out.push_back(fix);
    }

    /// A fix assembled from NMEA.
    pub(crate) fn nmea(&mut self, mut fix: GpsFix, out: &mut VecDeque<GpsFix>) {
        if !self.ubx {
            out.push_back(fix);
            return;
        }
        if let (Some(t), Some(last)) = (fix.time.as_mut(), self.last_ubx_time) {
            redate(t, last);
        }
        let t = key(fix.time.as_ref());
        if t.is_none() || t <= self.last_ubx {
            debug!(
                cycle_end = fix.cycle_end,
                "nmea fix of an epoch published from ubx; dropped"
            );
            return;
        }
        if self.held.len() >= MAX_HELD {
            if let Some(f) = self.held.pop_front() {
                out.push_back(f);
            }
        }
        self.held.push_back(fix);
    }

    /// Whether NMEA fixes are held.
    pub(crate) fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// Publishes the held NMEA fixes (idle gap, end of stream).
    pub(crate) fn flush(&mut self, out: &mut VecDeque<GpsFix>) {
        out.extend(self.held.drain(..));
    }
}

/// Moves an NMEA time to the day that puts it nearest the last UBX fix
/// (`near`, Unix seconds). The NMEA decoder dates from RMC/ZDA with its
/// week-rollover floor; UBX time comes from an absolute GPS week, so on a
/// port carrying both the UBX date is the one to trust.
fn redate(t: &mut Timestamp, near: i64) {
    const DAY: i64 = 86_400;
    let tod = t.seconds.rem_euclid(DAY);
    let base = near.div_euclid(DAY) * DAY + tod;
    t.seconds = [base - DAY, base, base + DAY]
        .into_iter()
        .min_by_key(|s| (s - near).abs())
        .unwrap_or(base);
}

/// Fills the values `ubx` lacks from `nmea` (same epoch).
fn fill(ubx: &mut GpsFix, nmea: GpsFix) {
    fn or(a: &mut Option<f64>, b: Option<f64>) {
        if a.is_none() {
            *a = b;
        }
    }
    if ubx.mode == FixMode::Unspecified as i32 {
        ubx.mode = nmea.mode;
    }
    if ubx.quality == FixQuality::Unspecified as i32 {
        ubx.quality = nmea.quality;
    }
    let has_fix = ubx.mode == FixMode::FixMode2d as i32 || ubx.mode == FixMode::FixMode3d as i32;
    if has_fix {
        or(&mut ubx.latitude_deg, nmea.latitude_deg);
        or(&mut ubx.longitude_deg, nmea.longitude_deg);
        or(&mut ubx.altitude_msl_m, nmea.altitude_msl_m);
        or(&mut ubx.geoid_separation_m, nmea.geoid_separation_m);
        if ubx.altitude_msl_m.is_some() && ubx.geoid_separation_m.is_none() {
            ubx.geoid_separation_m = ubx
                .altitude_hae_m
                .zip(ubx.altitude_msl_m)
                .map(|(h, m)| h - m);
        }
        or(&mut ubx.altitude_hae_m, nmea.altitude_hae_m);
        or(&mut ubx.speed_mps, nmea.speed_mps);
        or(&mut ubx.course_deg, nmea.course_deg);
        or(&mut ubx.magnetic_course_deg, nmea.magnetic_course_deg);
        or(&mut ubx.climb_mps, nmea.climb_mps);
        or(&mut ubx.horizontal_error_m, nmea.horizontal_error_m);
        or(&mut ubx.vertical_error_m, nmea.vertical_error_m);
        or(
            &mut ubx.expected_latitude_error_m,
            nmea.expected_latitude_error_m,
        );
        or(
            &mut ubx.expected_longitude_error_m,
            nmea.expected_longitude_error_m,
        );
        or(
            &mut ubx.expected_altitude_error_m,
            nmea.expected_altitude_error_m,
        );
    }
    or(&mut ubx.magnetic_variation_deg, nmea.magnetic_variation_deg);
    or(&mut ubx.range_rms_m, nmea.range_rms_m);
    or(&mut ubx.error_ellipse_major_m, nmea.error_ellipse_major_m);
    or(&mut ubx.error_ellipse_minor_m, nmea.error_ellipse_minor_m);
    or(
        &mut ubx.error_ellipse_orientation_deg,
        nmea.error_ellipse_orientation_deg,
    );
    or(&mut ubx.latitude_error_m, nmea.latitude_error_m);
    or(&mut ubx.longitude_error_m, nmea.longitude_error_m);
    or(&mut ubx.hdop, nmea.hdop);
    or(&mut ubx.vdop, nmea.vdop);
    or(&mut ubx.pdop, nmea.pdop);
    if ubx.satellites_used.is_none() {
        ubx.satellites_used = nmea.satellites_used;
    }
    if ubx.sky.is_empty() && !nmea.sky.is_empty() {
        ubx.sky = nmea.sky;
        ubx.satellites_visible = nmea.satellites_visible;
    }
    if ubx.satellites_visible.is_none() {
        ubx.satellites_visible = nmea.satellites_visible;
    }
    ubx.talker = nmea.talker;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fix(secs: i64, nanos: i32, lat: Option<f64>, msl: Option<f64>) -> GpsFix {
        GpsFix {
            time: Some(Timestamp {
                seconds: secs,
                nanos,
            }),
            mode: FixMode::FixMode3d as i32,
            latitude_deg: lat,
            altitude_msl_m: msl,
            ..GpsFix::default()
        }
    }

    #[test]
    fn nmea_alone_passes_through() {
        let mut m = Merge::default();
        let mut out = VecDeque::new();
        m.nmea(fix(10, 0, Some(1.0), None), &mut out);
        assert_eq!(out.len(), 1);
        assert!(!m.holds());
    }

    #[test]
    fn same_epoch_joins_with_ubx_winning() {
        let mut m = Merge::default();
        let mut out = VecDeque::new();
        m.ubx(fix(9, 0, Some(2.0), None), &mut out);
        out.clear();
        // NMEA's 10.00 s pairs with UBX's 9.999999 s; only the missing MSL
        // altitude comes from NMEA.
        m.nmea(fix(10, 0, Some(1.0), Some(100.0)), &mut out);
        assert!(out.is_empty() && m.holds());
        m.ubx(fix(9, 999_999_000, Some(2.0), None), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].latitude_deg, Some(2.0));
        assert_eq!(out[0].altitude_msl_m, Some(100.0));
        // An NMEA fix of that time arriving after is dropped.
        m.nmea(fix(10, 0, Some(1.0), None), &mut out);
        assert!(!m.holds());
        assert_eq!(out.len(), 1);
    }

    /// What only NMEA sends beside UBX (VTG's magnetic course, GBS's
    /// expected errors) joins the UBX fix of the same epoch.
    #[test]
    fn nmea_only_values_join_the_ubx_fix() {
        let mut m = Merge::default();
        let mut out = VecDeque::new();
        // A UBX fix first: the port speaks UBX, so NMEA waits for its
        // partner.
        m.ubx(fix(9, 0, Some(2.0), None), &mut out);
        out.clear();
        let mut nmea = fix(10, 0, Some(1.0), None);
        nmea.magnetic_course_deg = Some(42.5);
        nmea.expected_latitude_error_m = Some(1.0);
        nmea.expected_longitude_error_m = Some(1.1);
        nmea.expected_altitude_error_m = Some(3.1);
        m.nmea(nmea, &mut out);
        m.ubx(fix(10, 0, Some(2.0), None), &mut out);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.latitude_deg, Some(2.0));
        assert_eq!(f.magnetic_course_deg, Some(42.5));
        assert_eq!(
            (
                f.expected_latitude_error_m,
                f.expected_longitude_error_m,
                f.expected_altitude_error_m
            ),
            (Some(1.0), Some(1.1), Some(3.1))
        );
    }

    #[test]
    fn nmea_dates_follow_ubx() {
        let mut m = Merge::default();
        let mut out = VecDeque::new();
        // UBX at 2025-04-11T23:59:59Z; NMEA moved 1024 weeks ahead by its
        // rollover floor, at 00:00:00 (just after midnight).
        let ubx = 1_744_415_999;
        m.ubx(fix(ubx, 0, Some(2.0), None), &mut out);
        let nmea_day_wrong = ubx + 1 + 1024 * 7 * 86_400;
        m.nmea(fix(nmea_day_wrong, 0, None, None), &mut out);
        m.flush(&mut out);
        assert_eq!(out[1].time.unwrap().seconds, ubx + 1);
    }

    #[test]
    fn nmea_without_a_ubx_partner_is_published_in_order() {
        let mut m = Merge::default();
        let mut out = VecDeque::new();
        m.ubx(fix(9, 0, Some(2.0), None), &mut out);
        m.nmea(fix(10, 0, Some(1.0), None), &mut out);
        m.ubx(fix(11, 0, Some(2.0), None), &mut out);
        let secs: Vec<i64> = out.iter().map(|f| f.time.unwrap().seconds).collect();
        assert_eq!(secs, [9, 10, 11]);
        for t in 12..12 + MAX_HELD as i64 + 1 {
            m.nmea(fix(t, 0, None, None), &mut out);
        }
        assert_eq!(
            out.len(),
            4,
            "the oldest held fix goes when the bound is hit"
        );
        m.flush(&mut out);
        assert_eq!(out.len(), 3 + MAX_HELD + 1);
        assert!(!m.holds());
    }
}
