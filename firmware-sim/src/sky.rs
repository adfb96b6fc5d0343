//! A plausible multi-constellation sky: GPS, GLONASS, Galileo and BeiDou
//! satellites drifting slowly across the sky, with signal strength following
//! elevation. Deterministic for a seed.

use std::f64::consts::TAU;

use dronetel_proto::v1::{Constellation, SatelliteInfo};

use crate::rng::SplitMix64;

/// Satellites in view per constellation, and the range their NMEA numbers
/// are drawn from (u-blox NMEA 4.10 numbering).
const SYSTEMS: [(Constellation, usize, u32, u32); 4] = [
    (Constellation::Gps, 12, 1, 32),
    (Constellation::Glonass, 8, 65, 88),
    (Constellation::Galileo, 9, 1, 36),
    (Constellation::Beidou, 8, 1, 37),
];
/// Lowest elevation (degrees) of a satellite used in the fix.
const USE_MIN_ELEVATION: f64 = 40.0;
/// Lowest signal (dB-Hz) of a satellite used in the fix.
const USE_MIN_SNR: f64 = 30.0;
/// GSA lists at most this many satellites per constellation.
const MAX_USED_PER_SYSTEM: usize = 12;
/// The solution uses at most this many satellites (the strongest).
const MAX_USED: usize = 20;

#[derive(Debug, Clone, PartialEq)]
struct Orbit {
    constellation: Constellation,
    prn: u32,
    /// Phase and angular rate (rad/s) of the elevation cycle.
    elev_phase: f64,
    elev_rate: f64,
    /// Azimuth at t = 0 (degrees) and drift (degrees/s).
    az0: f64,
    az_rate: f64,
    /// Receiver-specific signal offset, dB.
    snr_bias: f64,
}

/// The satellites in view and how they move.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sky {
    orbits: Vec<Orbit>,
}

impl Sky {
    pub(crate) fn new(rng: &mut SplitMix64) -> Sky {
        let mut orbits = Vec::new();
        for (constellation, count, lo, hi) in SYSTEMS {
            let mut prns: Vec<u32> = (lo..=hi).collect();
            // Partial Fisher-Yates: the first `count` are a random subset.
            for i in 0..count {
                let j = i + (rng.next_u64() % (prns.len() - i) as u64) as usize;
                prns.swap(i, j);
            }
            let mut chosen = prns[..count].to_vec();
            chosen.sort_unstable();
            for prn in chosen {
                orbits.push(Orbit {
                    constellation,
                    prn,
                    elev_phase: rng.range(0.0, TAU),
                    // A pass of a few hours, as real satellites do.
                    elev_rate: TAU / rng.range(8_000.0, 30_000.0),
                    az0: rng.range(0.0, 360.0),
                    az_rate: rng.range(-0.01, 0.01),
                    snr_bias: rng.range(-3.0, 3.0),
                });
            }
        }
        Sky { orbits }
    }

    /// The sky `t` seconds into the simulation, values rounded to whole
    /// degrees and dB-Hz as GSV carries them.
    pub(crate) fn at(&self, t: f64) -> Vec<SatelliteInfo> {
        let mut sky: Vec<SatelliteInfo> = self
            .orbits
            .iter()
            .map(|o| {
                // A triangle wave: elevations spread evenly over 3..87 degrees.
                let x = (o.elev_phase + o.elev_rate * t) / std::f64::consts::PI;
                let elev = 3.0 + 84.0 * (1.0 - (x.rem_euclid(2.0) - 1.0).abs());
                let az = (o.az0 + o.az_rate * t).rem_euclid(360.0).round() % 360.0;
                let snr = 20.0 + 27.0 * elev.to_radians().sin() + o.snr_bias;
                let mut s = SatelliteInfo {
                    prn: o.prn,
                    elevation_deg: Some(elev.round()),
                    azimuth_deg: Some(az),
                    snr_dbhz: (elev > 5.0).then_some(snr.round()),
                    used: false,
                    signal_id: Some(signal_id(o.constellation)),
                    ..Default::default()
                };
                s.set_constellation(o.constellation);
                s
            })
            .collect();
        let mut candidates: Vec<usize> = (0..sky.len())
            .filter(|&i| {
                sky[i].elevation_deg.unwrap_or(0.0) >= USE_MIN_ELEVATION
                    && sky[i].snr_dbhz.unwrap_or(0.0) >= USE_MIN_SNR
            })
            .collect();
        // Strongest first; ties keep the sky order, so this is deterministic.
        candidates.sort_by(|&a, &b| {
            let snr = |i: usize| sky[i].snr_dbhz.unwrap_or(0.0);
            snr(b).total_cmp(&snr(a))
        });
        let mut per_system = [0usize; 8];
        let mut used = 0;
        for i in candidates {
            let slot = &mut per_system[sky[i].constellation as usize % 8];
            if used < MAX_USED && *slot < MAX_USED_PER_SYSTEM {
                *slot += 1;
                used += 1;
                sky[i].used = true;
            }
        }
        sky
    }
}

/// The NMEA 4.10 signal ID of the L1/E1/B1I signal a u-blox M8/M9 tracks.
fn signal_id(c: Constellation) -> u32 {
    match c {
        Constellation::Galileo => 7,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sky_is_plausible_over_hours() {
        let sky = Sky::new(&mut SplitMix64::new(1));
        for t in (0..6 * 3600).step_by(600) {
            let sats = sky.at(f64::from(t));
            let used = sats.iter().filter(|s| s.used).count();
            assert!((8..=MAX_USED).contains(&used), "t={t}: {used} used");
            assert_eq!(sats.len(), 37);
            for s in &sats {
                let e = s.elevation_deg.expect("elevation");
                assert!((0.0..=90.0).contains(&e));
                assert!((0.0..360.0).contains(&s.azimuth_deg.expect("azimuth")));
            }
        }
    }
}
