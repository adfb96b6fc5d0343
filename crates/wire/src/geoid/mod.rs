//! gpsd's geoid model: the separation between the WGS-84 ellipsoid and
//! the geoid (mean sea level) at a position, from a 5° EGM2008 grid with
//! bilinear interpolation. A receiver that sends an altitude above mean
//! sea level but no separation (GGA field 11 empty) leaves the height
//! above the ellipsoid unknown; gpsd fills both in with this model, and
//! a gpsd client expects them. The numbers are gpsd 3.22's (`geoid.c`,
//! `wgs84_separation()`, BSD-2-Clause, see `table.rs` for its licence): the same
//! inputs give gpsd's values to the last bit. The model differs from
//! EGM2008 itself by up to about 12 m (gpsd's own note), so it is for
//! filling gaps the way gpsd does, never for replacing what a receiver
//! sent.
//!
//! The same file of gpsd's has its magnetic model, used alike: the
//! magnetic variation (declination) from the World Magnetic Model 2015 on
//! a 5° grid ([`magnetic_variation`]). gpsd reports it as `magvar` (and
//! `magtrack` from it) when a receiver sends none, or sends 0.
//!
//! # Layout
//! - this file: [`wgs84_separation`], [`magnetic_variation`] and the
//!   interpolation they share.
//! - `table`: gpsd's geoid grid, with its licence.
//! - `magvar_table`: gpsd's magnetic variation grid, with its licence.

mod magvar_table;
mod table;

use magvar_table::MAGVAR_CENTIDEG;
use table::{COLS, GEOID_CM, ROWS};

/// Degrees between grid points.
const SPAN: i32 = 5;

/// Geoid separation (geoid height above the WGS-84 ellipsoid, the GGA
/// field 11 quantity), metres, at `lat`/`lon` degrees, as gpsd 3.22
/// computes it. `None` for a position off the grid (not finite, or
/// outside ±90°/±180°).
pub fn wgs84_separation(lat: f64, lon: f64) -> Option<f64> {
    Some(on_grid(&GEOID_CM, lat, lon)? / 100.0)
}

/// Magnetic variation (declination, degrees, east positive) at
/// `lat`/`lon` degrees, as gpsd 3.22's `mag_var()` computes it from the
/// World Magnetic Model 2015. `None` off the grid, where gpsd says 0.
pub fn magnetic_variation(lat: f64, lon: f64) -> Option<f64> {
    Some(on_grid(&MAGVAR_CENTIDEG, lat, lon)? / 100.0)
}

/// `grid` (rows by latitude, columns by longitude, both by [`SPAN`]°)
/// interpolated at `lat`/`lon`, in the grid's units, as gpsd does it.
fn on_grid(grid: &[[i16; COLS]; ROWS], lat: f64, lon: f64) -> Option<f64> {
    if !lat.is_finite() || !lon.is_finite() {
        return None;
    }
    let ilat = ((90.0 + lat) / f64::from(SPAN)).floor();
    let ilon = ((180.0 + lon) / f64::from(SPAN)).floor();
    if !(0.0..ROWS as f64).contains(&ilat) || !(0.0..COLS as f64).contains(&ilon) {
        return None;
    }
    // In range just above, so the casts are exact.
    let (lat1, lon1) = (ilat as usize, ilon as usize);
    let lat2 = if lat1 < ROWS - 1 { lat1 + 1 } else { lat1 };
    let lon2 = if lon1 < COLS - 1 { lon1 + 1 } else { lon1 };
    let z = |la: usize, lo: usize| {
        grid.get(la)
            .and_then(|row| row.get(lo))
            .map(|v| f64::from(*v))
    };
    let deg = |i: usize, offset: i32| i32::try_from(i).ok().map(|i| i * SPAN - offset);
    Some(bilinear(
        Corners {
            x1: deg(lon1, 180)?,
            y1: deg(lat1, 90)?,
            x2: deg(lon2, 180)?,
            y2: deg(lat2, 90)?,
        },
        lon,
        lat,
        [
            z(lat1, lon1)?,
            z(lat1, lon2)?,
            z(lat2, lon1)?,
            z(lat2, lon2)?,
        ],
    ))
}

/// The grid cell around a position, degrees.
struct Corners {
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
}

/// gpsd's `bilinear()`, operation for operation (the same rounding):
/// `z` is `[z11, z12, z21, z22]`, `z12` at (`x2`, `y1`), `z21` at
/// (`x1`, `y2`).
fn bilinear(c: Corners, x: f64, y: f64, z: [f64; 4]) -> f64 {
    let [z11, z12, z21, z22] = z;
    let (x1, y1, x2, y2) = (
        f64::from(c.x1),
        f64::from(c.y1),
        f64::from(c.x2),
        f64::from(c.y2),
    );
    let (xx1, x2x, yy1, y2y) = (x - x1, x2 - x, y - y1, y2 - y);
    // At 90°N or 180°E the cell is a line or a point (gpsd's corner cases).
    if c.y1 == c.y2 {
        if c.x1 == c.x2 {
            return z11;
        }
        return (z22 * xx1 + z11 * x2x) / f64::from(c.x2 - c.x1);
    }
    if c.x1 == c.x2 {
        return (z22 * yy1 + z11 * y2y) / f64::from(c.y2 - c.y1);
    }
    let delta = f64::from((c.y2 - c.y1) * (c.x2 - c.x1));
    (z22 * yy1 * xx1 + z12 * y2y * xx1 + z21 * yy1 * x2x + z11 * y2y * x2x) / delta
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn grid_points_and_between() {
        // A grid point: the table's value.
        assert_eq!(wgs84_separation(0.0, -180.0), Some(21.28));
        assert_eq!(wgs84_separation(90.0, 0.0), Some(14.90));
        assert_eq!(wgs84_separation(-90.0, 180.0), Some(-30.15));
        // Half-way between two points of a row: their mean.
        let mid = wgs84_separation(0.0, -177.5).unwrap();
        assert!((mid - (21.28 + 17.74) / 2.0).abs() < 1e-9, "{mid}");
    }

    /// gpsd's `geoidSep` for a GGA without one (`rst39.log`, 20:41:32.2,
    /// gpsd's regression output: -33.830).
    #[test]
    fn what_gpsd_reports_for_a_capture() {
        let s = wgs84_separation(42.095_565_767, -88.034_013_950).unwrap();
        assert!((s - -33.830).abs() < 5e-4, "{s}");
    }

    /// gpsd's `magvar` where a receiver sends none: its regression
    /// output for `ublox-neo-m9n-nmea.log` (38.110494°, -122.626897°:
    /// 13.4) and `meinberg-gps164.log` (which sends 0.0,E: 3.4 at
    /// 47.703500°, 12.012500°); gpsd prints one decimal.
    #[test]
    fn magnetic_variation_is_gpsds() {
        let m9n = magnetic_variation(38.110_494, -122.626_897).unwrap();
        assert!((m9n - 13.4).abs() < 0.05, "{m9n}");
        let meinberg = magnetic_variation(47.703_5, 12.012_5).unwrap();
        assert!((meinberg - 3.4).abs() < 0.05, "{meinberg}");
        // A grid point: the table's value; west is negative.
        assert_eq!(
            magnetic_variation(0.0, 0.0),
            Some(f64::from(MAGVAR_CENTIDEG[18][36]) / 100.0)
        );
        assert!(magnetic_variation(45.0, -70.0).unwrap() < -10.0);
        assert_eq!(magnetic_variation(f64::NAN, 0.0), None);
    }

    #[test]
    fn off_the_grid_is_none() {
        assert_eq!(wgs84_separation(f64::NAN, 0.0), None);
        assert_eq!(wgs84_separation(0.0, f64::INFINITY), None);
        assert_eq!(wgs84_separation(95.0, 0.0), None);
        assert_eq!(wgs84_separation(0.0, -181.0), None);
    }
}
