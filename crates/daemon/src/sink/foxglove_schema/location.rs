//! `GpsFix` → `foxglove.LocationFix`, for every GPS source (NMEA, UBX, the
//! flight controller's GPS): they all publish `GpsFix`.
//!
//! Covariance (m², East-North-Up, row-major 3×3):
//! - DIAGONAL_KNOWN when the receiver gave both 1-sigma error estimates
//!   (`horizontal_error_m`, `vertical_error_m`, from GST): the horizontal
//!   error is the root-sum-square of the east and north deviations, so each
//!   gets half its square; up gets the vertical error squared.
//! - APPROXIMATED from the dilutions of precision when only those are
//!   known: deviation = DOP × [`UERE_M`]; east and north each get half of
//!   (HDOP × UERE)², up gets (VDOP × UERE)², or (2 × HDOP × UERE)² without a
//!   VDOP (vertical error is typically about twice the horizontal).
//! - UNKNOWN otherwise (all zero).

use dronetel_proto::foxglove::{location_fix::PositionCovarianceType, LocationFix};
use dronetel_proto::v1::GpsFix;

/// User-equivalent range error, metres (1 sigma) used to turn a DOP into a
/// position deviation: a typical figure for a single-frequency receiver
/// without corrections (the ROS `nmea_navsat_driver` uses 4 m too).
pub const UERE_M: f64 = 4.0;

/// The `LocationFix` of `fix` from `sensor`, `None` without a position.
/// `timestamp` is the fix time (the received time when the receiver gave
/// none); `altitude` is the height above the WGS-84 ellipsoid (HAE, as the
/// schema defines), from `altitude_hae_m`, else MSL altitude plus geoid
/// separation, else 0.
pub fn location_fix(
    sensor: &str,
    fix: &GpsFix,
    received: Option<prost_types::Timestamp>,
) -> Option<LocationFix> {
    let (latitude, longitude) = (fix.latitude_deg?, fix.longitude_deg?);
    let altitude = fix
        .altitude_hae_m
        .or_else(|| Some(fix.altitude_msl_m? + fix.geoid_separation_m?))
        .unwrap_or(0.0);
    let (position_covariance, kind) = covariance(fix);
    Some(LocationFix {
        timestamp: fix.time.or(received),
        frame_id: sensor.to_owned(),
        latitude,
        longitude,
        altitude,
        position_covariance,
        position_covariance_type: kind as i32,
        ..Default::default()
    })
}

/// The covariance of `fix` and its type (see the module's rules).
pub fn covariance(fix: &GpsFix) -> (Vec<f64>, PositionCovarianceType) {
    let diagonal = |e: f64, u: f64| vec![e, 0.0, 0.0, 0.0, e, 0.0, 0.0, 0.0, u];
    if let (Some(h), Some(v)) = (fix.horizontal_error_m, fix.vertical_error_m) {
        return (
            diagonal(h * h / 2.0, v * v),
            PositionCovarianceType::DiagonalKnown,
        );
    }
    if let Some(hdop) = fix.hdop {
        let h = hdop * UERE_M;
        let v = fix.vdop.map_or(2.0 * h, |vdop| vdop * UERE_M);
        return (
            diagonal(h * h / 2.0, v * v),
            PositionCovarianceType::Approximated,
        );
    }
    (vec![0.0; 9], PositionCovarianceType::Unknown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fix() -> GpsFix {
        GpsFix {
            latitude_deg: Some(48.1),
            longitude_deg: Some(11.5),
            altitude_msl_m: Some(500.0),
            geoid_separation_m: Some(47.0),
            ..Default::default()
        }
    }

    #[test]
    fn no_position_no_fix_and_altitude_is_hae() {
        assert!(location_fix("g", &GpsFix::default(), None).is_none());
        let f = location_fix("g", &fix(), None).unwrap();
        assert_eq!((f.latitude, f.longitude, f.altitude), (48.1, 11.5, 547.0));
        assert_eq!(f.frame_id, "g");
        let hae = GpsFix {
            altitude_hae_m: Some(600.0),
            ..fix()
        };
        assert_eq!(location_fix("g", &hae, None).unwrap().altitude, 600.0);
    }

    #[test]
    fn covariance_known_then_approximated_then_unknown() {
        let known = GpsFix {
            horizontal_error_m: Some(2.0),
            vertical_error_m: Some(3.0),
            hdop: Some(1.0),
            ..fix()
        };
        let (c, t) = covariance(&known);
        assert_eq!(t, PositionCovarianceType::DiagonalKnown);
        assert_eq!((c[0], c[4], c[8]), (2.0, 2.0, 9.0));
        let dop = GpsFix {
            hdop: Some(1.0),
            vdop: Some(2.0),
            ..fix()
        };
        let (c, t) = covariance(&dop);
        assert_eq!(t, PositionCovarianceType::Approximated);
        assert_eq!((c[0], c[4], c[8]), (8.0, 8.0, 64.0));
        let (c, t) = covariance(&fix());
        assert_eq!(t, PositionCovarianceType::Unknown);
        assert!(c.iter().all(|v| *v == 0.0));
    }
}
