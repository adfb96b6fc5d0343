//! ECEF (earth-centred, earth-fixed) position and velocity to WGS-84
//! latitude, longitude, height, speed, course and climb, for receivers that
//! report ECEF only (NAV-SOL, NAV-POSECEF, NAV-VELECEF).
//!
//! The same closed form as gpsd (`ecef_to_wgs84fix`): Bowring's method with
//! one evaluation, which is exact to well under a millimetre for any height
//! a receiver on or near the ground reports; velocity is rotated into the
//! local north/east/up frame at that latitude and longitude.

/// WGS-84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS-84 flattening.
const F: f64 = 1.0 / 298.257_223_563;

/// A geodetic position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Geodetic {
    /// Degrees, north positive.
    pub(crate) lat: f64,
    /// Degrees, east positive, -180..180.
    pub(crate) lon: f64,
    /// Metres above the ellipsoid.
    pub(crate) height: f64,
}

/// Geodetic position of an ECEF point (metres); `None` for the origin
/// (what receivers send without a solution) and non-finite input.
pub(crate) fn to_geodetic([x, y, z]: [f64; 3]) -> Option<Geodetic> {
    let b = A * (1.0 - F);
    let e2 = (A * A - b * b) / (A * A);
    let ep2 = (A * A - b * b) / (b * b);
    let p = x.hypot(y);
    if !(p.is_finite() && z.is_finite()) || (p == 0.0 && z == 0.0) {
        return None;
    }
    let lon = y.atan2(x);
    let theta = (z * A).atan2(p * b);
    let (st, ct) = theta.sin_cos();
    let phi = (z + ep2 * b * st * st * st).atan2(p - e2 * A * ct * ct * ct);
    let (sp, cp) = phi.sin_cos();
    let n = A / (1.0 - e2 * sp * sp).sqrt();
    // Near the poles cos(phi) vanishes: use the z form of the height.
    let height = if cp.abs() > 1e-9 {
        p / cp - n
    } else {
        z.abs() - b
    };
    Some(Geodetic {
        lat: phi.to_degrees(),
        lon: lon.to_degrees(),
        height,
    })
}

/// North, east and down velocity (m/s) of an ECEF velocity at `at`.
pub(crate) fn ned_velocity(at: Geodetic, [vx, vy, vz]: [f64; 3]) -> [f64; 3] {
    let (sp, cp) = at.lat.to_radians().sin_cos();
    let (sl, cl) = at.lon.to_radians().sin_cos();
    let north = -vx * sp * cl - vy * sp * sl + vz * cp;
    let east = -vx * sl + vy * cl;
    let up = vx * cp * cl + vy * cp * sl + vz * sp;
    [north, east, -up]
}

/// Course over ground, degrees 0..360 from true north, of a north/east
/// velocity (0 when still, as gpsd reports it).
pub(crate) fn course(north: f64, east: f64) -> f64 {
    let c = east.atan2(north).to_degrees();
    if c < 0.0 {
        c + 360.0
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Forward transform, to check the inverse on known points.
    fn to_ecef(lat: f64, lon: f64, h: f64) -> [f64; 3] {
        let e2 = F * (2.0 - F);
        let (sp, cp) = lat.to_radians().sin_cos();
        let (sl, cl) = lon.to_radians().sin_cos();
        let n = A / (1.0 - e2 * sp * sp).sqrt();
        [
            (n + h) * cp * cl,
            (n + h) * cp * sl,
            (n * (1.0 - e2) + h) * sp,
        ]
    }

    #[test]
    fn round_trips_points_on_and_above_the_ellipsoid() {
        for (lat, lon, h) in [
            (44.068_817_081, -121.314_317_437, 1110.2328),
            (-33.817_228, 18.732_137, 115.4),
            (0.0, 0.0, 0.0),
            (89.9, 45.0, 3000.0),
            (-89.999_999, -179.9, -50.0),
            (51.591_017_2, -0.024_636_4, 53.11),
        ] {
            let g = to_geodetic(to_ecef(lat, lon, h)).unwrap();
            assert!((g.lat - lat).abs() < 1e-9, "{lat} {g:?}");
            assert!((g.lon - lon).abs() < 1e-9, "{lon} {g:?}");
            assert!((g.height - h).abs() < 1e-3, "{h} {g:?}");
        }
    }

    #[test]
    fn gpsd_values_of_a_capture() {
        // ublox-neo-m8t-s.log, first epoch: ECEF in cm and gpsd's TPV.
        let g = to_geodetic([-2_386_071.16, -3_922_189.40, 4_414_361.02]).unwrap();
        assert!((g.lat - 44.068_817_081).abs() < 1e-9);
        assert!((g.lon - -121.314_317_437).abs() < 1e-9);
        assert!((g.height - 1110.2328).abs() < 1e-4);
    }

    #[test]
    fn origin_has_no_position() {
        assert!(to_geodetic([0.0, 0.0, 0.0]).is_none());
        assert!(to_geodetic([f64::NAN, 0.0, 1.0]).is_none());
    }

    #[test]
    fn velocity_is_rotated_into_north_east_down() {
        let at = Geodetic {
            lat: 0.0,
            lon: 0.0,
            height: 0.0,
        };
        // At 0N 0E, +Z is north, +Y is east, +X is up.
        assert_eq!(ned_velocity(at, [0.0, 0.0, 2.0]), [2.0, 0.0, -0.0]);
        assert_eq!(ned_velocity(at, [0.0, 3.0, 0.0]), [0.0, 3.0, -0.0]);
        assert_eq!(ned_velocity(at, [1.0, 0.0, 0.0]), [0.0, 0.0, -1.0]);
        assert_eq!(course(0.0, 1.0), 90.0);
        assert_eq!(course(0.0, -1.0), 270.0);
        assert_eq!(course(0.0, 0.0), 0.0);
    }
}
