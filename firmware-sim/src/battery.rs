//! The flight battery: a 4S LiPo drained by the flight model. Current
//! follows the flight (hover, forward speed, climb); cell voltages are the
//! open-circuit voltage of the charge left minus a sag that follows the
//! current with a lag, so the cells sag under load and recover at rest.

use crate::flight::State;
use crate::rng::SplitMix64;

/// Cells in series.
pub(crate) const CELLS: usize = 4;
/// Capacity, mAh.
const CAPACITY_MAH: f64 = 5000.0;
/// Current on the ground, disarmed (electronics), amperes.
const IDLE_A: f64 = 0.6;
/// Current to hover, amperes.
const HOVER_A: f64 = 14.0;
/// Extra current per (m/s)² of forward speed.
const SPEED_A_PER_MPS2: f64 = 0.06;
/// Extra current per m/s of climb (half of it saved per m/s of descent).
const CLIMB_A_PER_MPS: f64 = 3.0;
/// Internal resistance of one cell, ohms.
const CELL_OHMS: f64 = 0.006;
/// Time constant of the sag following the current, seconds.
const SAG_TAU_S: f64 = 1.5;
/// Charge below which a landed vehicle gets a fresh battery (a swap).
const SWAP_BELOW: f64 = 0.2;

/// Open-circuit voltage of a LiPo cell at state of charge `soc` (0..1).
fn ocv(soc: f64) -> f64 {
    const CURVE: [(f64, f64); 6] = [
        (0.0, 3.30),
        (0.1, 3.60),
        (0.2, 3.70),
        (0.5, 3.82),
        (0.8, 3.98),
        (1.0, 4.20),
    ];
    let soc = soc.clamp(0.0, 1.0);
    for w in CURVE.windows(2) {
        let ((s0, v0), (s1, v1)) = (w[0], w[1]);
        if soc <= s1 {
            return v0 + (v1 - v0) * (soc - s0) / (s1 - s0);
        }
    }
    CURVE[CURVE.len() - 1].1
}

/// The battery's state at one instant, in physical units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) cells_v: [f64; CELLS],
    pub(crate) current_a: f64,
    pub(crate) consumed_mah: f64,
    pub(crate) consumed_wh: f64,
    pub(crate) temperature_c: f64,
    pub(crate) remaining: f64,
    pub(crate) armed: bool,
}

/// The battery and its history.
#[derive(Debug, Clone)]
pub(crate) struct Battery {
    consumed_mah: f64,
    consumed_wh: f64,
    sag_a: f64,
    temperature_c: f64,
    /// Per-cell imbalance, volts.
    imbalance: [f64; CELLS],
    last_t: Option<f64>,
    swaps: u64,
}

impl Battery {
    pub(crate) fn new(rng: &mut SplitMix64) -> Battery {
        let mut imbalance = [0.0; CELLS];
        for v in &mut imbalance {
            *v = rng.range(-0.008, 0.008);
        }
        Battery {
            consumed_mah: 0.0,
            consumed_wh: 0.0,
            sag_a: IDLE_A,
            temperature_c: 24.0,
            imbalance,
            last_t: None,
            swaps: 0,
        }
    }

    /// The current the flight `s` draws.
    pub(crate) fn current(s: &State) -> f64 {
        if s.agl_m <= 0.0 && s.climb_mps <= 0.0 {
            return IDLE_A;
        }
        let climb = if s.climb_mps >= 0.0 {
            s.climb_mps * CLIMB_A_PER_MPS
        } else {
            s.climb_mps * CLIMB_A_PER_MPS / 2.0
        };
        HOVER_A + SPEED_A_PER_MPS2 * s.speed_mps * s.speed_mps + climb
    }

    /// Advances to time `t` (seconds since start) in flight state `s`.
    pub(crate) fn step(&mut self, t: f64, s: &State) -> Sample {
        let i = Self::current(s);
        let dt = self.last_t.map_or(0.0, |last| (t - last).max(0.0));
        self.last_t = Some(t);
        let armed = i > IDLE_A;
        if !armed && self.remaining() < SWAP_BELOW {
            // Landed with a low battery: the crew swaps it.
            self.consumed_mah = 0.0;
            self.consumed_wh = 0.0;
            self.swaps += 1;
        }
        let soc_before = self.remaining();
        let pack_v: f64 = (0..CELLS)
            .map(|c| ocv(soc_before) + self.imbalance[c])
            .sum::<f64>()
            - i * CELL_OHMS * CELLS as f64;
        self.consumed_mah += i * dt / 3.6;
        self.consumed_wh += pack_v * i * dt / 3600.0;
        // The sag follows the current with a first-order lag.
        let k = if dt > 0.0 {
            1.0 - (-dt / SAG_TAU_S).exp()
        } else {
            1.0
        };
        self.sag_a += (i - self.sag_a) * k;
        self.temperature_c += (i * 0.02 - (self.temperature_c - 24.0) * 0.01) * dt;
        let soc = self.remaining();
        let mut cells_v = [0.0; CELLS];
        for (c, v) in cells_v.iter_mut().enumerate() {
            *v = ocv(soc) + self.imbalance[c] - self.sag_a * CELL_OHMS;
        }
        Sample {
            cells_v,
            current_a: i,
            consumed_mah: self.consumed_mah,
            consumed_wh: self.consumed_wh,
            temperature_c: self.temperature_c,
            remaining: soc,
            armed,
        }
    }

    fn remaining(&self) -> f64 {
        (1.0 - self.consumed_mah / CAPACITY_MAH).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flight::FlightModel;
    use crate::Home;

    #[test]
    fn a_sortie_drains_the_pack_and_cells_sag_under_load_then_recover() {
        let mut rng = SplitMix64::new(3);
        let model = FlightModel::new(Home::default(), &mut rng);
        let mut b = Battery::new(&mut rng);
        let mut t = 0.0;
        let rest = b.step(t, &model.state(t));
        assert!(!rest.armed);
        let (mut min_cell, mut max_current): (f64, f64) = (5.0, 0.0);
        let mut loaded = None;
        while t < model.sortie_s() * 0.6 {
            t += 0.1;
            let s = b.step(t, &model.state(t));
            min_cell = min_cell.min(s.cells_v[0]);
            max_current = max_current.max(s.current_a);
            if s.armed && t > 20.0 {
                loaded = Some(s);
            }
        }
        let loaded = loaded.expect("flew");
        assert!(loaded.consumed_mah > 50.0, "{loaded:?}");
        assert!(
            max_current > HOVER_A,
            "climb and speed draw more than hover"
        );
        // Sag under load: about current × R per cell.
        assert!(
            rest.cells_v[0] - min_cell > 0.05,
            "{} → {min_cell}",
            rest.cells_v[0]
        );
        // Land and rest: the sag recovers (the voltage rises at rest).
        let mut touchdown = None;
        while touchdown.is_none() && t < model.sortie_s() {
            t += 0.1;
            let s = b.step(t, &model.state(t));
            if !s.armed {
                touchdown = Some((t, s));
            }
        }
        let (t_land, touchdown) = touchdown.expect("landed");
        let rested = b.step(t_land + 3.0, &model.state(t_land + 3.0));
        assert!(!rested.armed);
        assert!(
            rested.cells_v[0] - touchdown.cells_v[0] > 0.03,
            "{touchdown:?} → {rested:?}"
        );
        assert!(rested.remaining < rest.remaining);
    }
}
