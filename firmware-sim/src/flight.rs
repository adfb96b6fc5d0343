//! The flight model: a deterministic circuit flown from the home position,
//! as a function of the time since the simulation started.
//!
//! One sortie: wait on the ground, climb vertically, fly a circle that
//! passes over home (with a gentle altitude wave), descend vertically, wait,
//! repeat. The seed picks the circle's size, speed, direction, bearing and
//! cruise height.

use std::f64::consts::TAU;

use crate::rng::SplitMix64;
use crate::Home;

/// Mean Earth radius (metres) for the local flat-Earth projection.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Seconds on the ground before take-off and after landing.
const GROUND_S: f64 = 4.0;
/// Climb and descent rate, metres per second.
const VERTICAL_MPS: f64 = 2.5;
/// Amplitude of the altitude wave during the circuit, metres.
const WAVE_M: f64 = 5.0;

/// Where the vehicle is and how it moves at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct State {
    /// Latitude, degrees.
    pub(crate) lat_deg: f64,
    /// Longitude, degrees.
    pub(crate) lon_deg: f64,
    /// Altitude above mean sea level, metres.
    pub(crate) alt_msl_m: f64,
    /// Horizontal speed, metres per second.
    pub(crate) speed_mps: f64,
    /// Course over ground, degrees from true north; `None` when not moving.
    pub(crate) course_deg: Option<f64>,
    /// Vertical speed, metres per second, up positive.
    pub(crate) climb_mps: f64,
    /// Height above the take-off point, metres.
    pub(crate) agl_m: f64,
}

/// The circuit parameters drawn from the seed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FlightModel {
    home: Home,
    radius_m: f64,
    speed_mps: f64,
    clockwise: bool,
    /// Bearing from home to the circle's centre, radians from north.
    bearing: f64,
    cruise_agl_m: f64,
}

impl FlightModel {
    pub(crate) fn new(home: Home, rng: &mut SplitMix64) -> FlightModel {
        FlightModel {
            home,
            radius_m: rng.range(120.0, 250.0),
            speed_mps: rng.range(6.0, 14.0),
            clockwise: rng.next_u64() & 1 == 0,
            bearing: rng.range(0.0, TAU),
            cruise_agl_m: rng.range(40.0, 80.0),
        }
    }

    fn climb_s(&self) -> f64 {
        self.cruise_agl_m / VERTICAL_MPS
    }

    fn lap_s(&self) -> f64 {
        TAU * self.radius_m / self.speed_mps
    }

    /// Length of one sortie, seconds.
    pub(crate) fn sortie_s(&self) -> f64 {
        2.0 * GROUND_S + 2.0 * self.climb_s() + self.lap_s()
    }

    /// The state `t` seconds after the simulation started.
    pub(crate) fn state(&self, t: f64) -> State {
        let mut s = t.max(0.0) % self.sortie_s();
        let ground = self.home.alt_msl_m;
        let at = |north: f64, east: f64, agl: f64, speed: f64, course: Option<f64>, climb: f64| {
            let (lat, lon) = self.offset(north, east);
            State {
                lat_deg: lat,
                lon_deg: lon,
                alt_msl_m: ground + agl,
                speed_mps: speed,
                course_deg: course,
                climb_mps: climb,
                agl_m: agl,
            }
        };
        if s < GROUND_S {
            return at(0.0, 0.0, 0.0, 0.0, None, 0.0);
        }
        s -= GROUND_S;
        if s < self.climb_s() {
            return at(0.0, 0.0, s * VERTICAL_MPS, 0.0, None, VERTICAL_MPS);
        }
        s -= self.climb_s();
        if s < self.lap_s() {
            // Angle swept around the centre, starting over home.
            let phase = s / self.lap_s();
            let swept = TAU * phase * if self.clockwise { 1.0 } else { -1.0 };
            // Home sits at bearing `bearing + π` seen from the centre.
            let around = self.bearing + std::f64::consts::PI + swept;
            let (cn, ce) = (
                self.radius_m * self.bearing.cos(),
                self.radius_m * self.bearing.sin(),
            );
            let north = cn + self.radius_m * around.cos();
            let east = ce + self.radius_m * around.sin();
            let tangent = around + if self.clockwise { 1.0 } else { -1.0 } * TAU / 4.0;
            let course = tangent.to_degrees().rem_euclid(360.0);
            let agl = self.cruise_agl_m + WAVE_M * (TAU * phase).sin();
            let climb = WAVE_M * TAU / self.lap_s() * (TAU * phase).cos();
            return at(north, east, agl, self.speed_mps, Some(course), climb);
        }
        s -= self.lap_s();
        if s < self.climb_s() {
            return at(
                0.0,
                0.0,
                self.cruise_agl_m - s * VERTICAL_MPS,
                0.0,
                None,
                -VERTICAL_MPS,
            );
        }
        at(0.0, 0.0, 0.0, 0.0, None, 0.0)
    }

    /// Latitude and longitude of a point `north`/`east` metres from home.
    fn offset(&self, north: f64, east: f64) -> (f64, f64) {
        let lat = self.home.lat_deg + (north / EARTH_RADIUS_M).to_degrees();
        let lon = self.home.lon_deg
            + (east / (EARTH_RADIUS_M * self.home.lat_deg.to_radians().cos())).to_degrees();
        (lat, lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(seed: u64) -> FlightModel {
        FlightModel::new(Home::default(), &mut SplitMix64::new(seed))
    }

    #[test]
    fn sortie_starts_and_ends_at_home_on_the_ground() {
        let m = model(7);
        let home = Home::default();
        for t in [0.0, m.sortie_s() - 0.1, m.sortie_s() + 1.0] {
            let s = m.state(t);
            assert_eq!((s.lat_deg, s.lon_deg), (home.lat_deg, home.lon_deg));
            assert_eq!(s.alt_msl_m, home.alt_msl_m);
            assert_eq!(s.course_deg, None);
        }
    }

    #[test]
    fn circuit_moves_along_its_course_at_its_speed() {
        let m = model(42);
        let t0 = GROUND_S + m.climb_s() + m.lap_s() / 3.0;
        let (a, b) = (m.state(t0), m.state(t0 + 0.1));
        assert!(b.alt_msl_m > Home::default().alt_msl_m + 30.0);
        let dn = (b.lat_deg - a.lat_deg).to_radians() * EARTH_RADIUS_M;
        let de =
            (b.lon_deg - a.lon_deg).to_radians() * EARTH_RADIUS_M * a.lat_deg.to_radians().cos();
        let speed = (dn * dn + de * de).sqrt() / 0.1;
        assert!(
            (speed - a.speed_mps).abs() < 0.05,
            "{speed} vs {}",
            a.speed_mps
        );
        let course = de.atan2(dn).to_degrees().rem_euclid(360.0);
        let diff = (course - a.course_deg.expect("moving")).rem_euclid(360.0);
        assert!(
            diff.min(360.0 - diff) < 1.0,
            "{course} vs {:?}",
            a.course_deg
        );
    }

    #[test]
    fn same_seed_same_flight_other_seed_other_flight() {
        assert_eq!(model(3).state(60.0), model(3).state(60.0));
        assert_ne!(model(3), model(4));
    }
}
