//! [`SensorClock`]: maps a sensor's clock (µs since it booted) to host time,
//! robust to transport jitter, clock drift and sensor reboots. Pure logic:
//! the host time of each reception is an input.
//!
//! Every frame gives one sample of `offset = host_receive − sensor_capture`,
//! which is the true clock offset plus the frame's transport delay. Delays
//! are never negative and often near their minimum, so the lower envelope
//! of the offsets is the clock offset plus the minimum delay. The samples
//! are grouped in one-second buckets (by sensor time) keeping each bucket's
//! minimum; the drift between the two clocks is the least-squares slope of
//! those minima over the window, and the offset now is the lowest bucket
//! minimum carried forward along that slope. A sample's latency is its offset
//! above that estimate: the delay beyond the fastest frame seen.
//! A sensor clock going backwards, or an offset more than `MAX_JUMP` away
//! from the estimate, means the sensor rebooted (or its clock was set): the
//! window restarts.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Sensor time covered by one bucket.
const BUCKET_US: u64 = 1_000_000;
/// Buckets kept (the window is this many seconds of sensor time).
const BUCKETS: usize = 16;
/// Buckets needed before drift is estimated.
const MIN_BUCKETS_FOR_DRIFT: usize = 4;
/// Largest drift believed, parts per million (crystals are within ±100).
const MAX_DRIFT_PPM: f64 = 1000.0;
/// An offset this far from the estimate restarts the mapping.
const MAX_JUMP_US: i64 = 5_000_000;

/// The lowest offset of one bucket and the sensor time it was seen at.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    start_us: u64,
    at_us: u64,
    min_offset_us: i64,
}

/// The mapping of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The sample's capture time on the host clock.
    pub captured_at: SystemTime,
    /// Delay of this sample beyond the fastest sample in the window.
    pub latency: Duration,
    /// Whether this sample restarted the mapping (sensor reboot, clock jump).
    pub restarted: bool,
}

/// The sensor-clock → host-clock mapping of one sensor.
#[derive(Debug, Clone, Default)]
pub struct SensorClock {
    buckets: VecDeque<Bucket>,
    last_sensor_us: Option<u64>,
    restarts: u64,
}

impl SensorClock {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Times the mapping restarted because the sensor clock went backwards
    /// or jumped (reboots). The first sample is not a restart.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Drift of the sensor clock against the host clock, parts per million
    /// (positive: the sensor runs slow), when enough samples exist.
    pub fn drift_ppm(&self) -> Option<f64> {
        self.slope().map(|s| s * 1e6)
    }

    /// Adds the sample of a frame captured at `sensor_us` (sensor clock) and
    /// received at `host` (host clock), and maps it.
    pub fn observe(&mut self, sensor_us: u64, host: SystemTime) -> Mapping {
        let host_us = host
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let offset = host_us.saturating_sub(i64::try_from(sensor_us).unwrap_or(i64::MAX));
        let mut restarted = false;
        let backwards = self.last_sensor_us.is_some_and(|last| sensor_us < last);
        let jumped = self
            .estimate(sensor_us)
            .is_some_and(|est| offset.abs_diff(est) > MAX_JUMP_US.unsigned_abs());
        if backwards || jumped {
            self.buckets.clear();
            self.restarts += 1;
            restarted = true;
        }
        self.last_sensor_us = Some(sensor_us);
        self.add(sensor_us, offset);
        let est = self.estimate(sensor_us).unwrap_or(offset).min(offset);
        let captured_us = (i64::try_from(sensor_us).unwrap_or(i64::MAX)).saturating_add(est);
        Mapping {
            captured_at: UNIX_EPOCH
                + Duration::from_micros(u64::try_from(captured_us).unwrap_or(0)),
            latency: Duration::from_micros(u64::try_from(offset.saturating_sub(est)).unwrap_or(0)),
            restarted,
        }
    }

    fn add(&mut self, sensor_us: u64, offset: i64) {
        match self.buckets.back_mut() {
            Some(b) if sensor_us - b.start_us < BUCKET_US => {
                if offset < b.min_offset_us {
                    b.min_offset_us = offset;
                    b.at_us = sensor_us;
                }
            }
            _ => {
                self.buckets.push_back(Bucket {
                    start_us: sensor_us - sensor_us % BUCKET_US,
                    at_us: sensor_us,
                    min_offset_us: offset,
                });
                while self.buckets.len() > BUCKETS {
                    self.buckets.pop_front();
                }
            }
        }
    }

    /// Least-squares slope (offset µs per sensor µs) of the minima of the
    /// complete buckets (the newest one may hold a single slow sample).
    fn slope(&self) -> Option<f64> {
        let complete = self.buckets.len().saturating_sub(1);
        if complete < MIN_BUCKETS_FOR_DRIFT {
            return None;
        }
        let done = || self.buckets.iter().take(complete);
        let n = complete as f64;
        let first = self.buckets.front()?;
        let t0 = first.at_us;
        let xs = done().map(|b| (b.at_us - t0) as f64);
        let ys = done().map(|b| b.min_offset_us.saturating_sub(first.min_offset_us) as f64);
        let (mx, my) = (xs.clone().sum::<f64>() / n, ys.clone().sum::<f64>() / n);
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (x, y) in xs.zip(ys) {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
        }
        (sxx > 0.0).then(|| (sxy / sxx).clamp(-MAX_DRIFT_PPM / 1e6, MAX_DRIFT_PPM / 1e6))
    }

    /// The clock offset (plus minimum delay) at sensor time `sensor_us`.
    fn estimate(&self, sensor_us: u64) -> Option<i64> {
        let slope = self.slope().unwrap_or(0.0);
        self.buckets
            .iter()
            .map(|b| {
                let dt = sensor_us as f64 - b.at_us as f64;
                b.min_offset_us.saturating_add((slope * dt).round() as i64)
            })
            .min()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Deterministic jitter source (xorshift), uniform in 0..1.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        /// A transport delay: 2 ms floor, exponential jitter of mean 3 ms,
        /// one frame in 50 delayed by 40 ms more (a burst).
        fn delay_us(&mut self) -> f64 {
            let mut d = 2000.0 - 3000.0 * (1.0 - self.next()).ln();
            if self.next() < 0.02 {
                d += 40_000.0;
            }
            d
        }
    }

    const HOST0_US: f64 = 1.7e15;

    /// Feeds 30 Hz frames for `secs` seconds; checks every estimate after
    /// the first `settle` seconds against the true extra delay.
    fn run(drift_ppm: f64, secs: f64, settle: f64, tolerance_us: f64) -> SensorClock {
        let mut c = SensorClock::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut worst: f64 = 0.0;
        let mut t = 0.0;
        while t < secs {
            let sensor_us = 5_000_000.0 + t * 1e6;
            // Host time of capture: the sensor clock runs slow by drift_ppm.
            let capture_host = HOST0_US + t * 1e6 * (1.0 + drift_ppm / 1e6);
            let delay = rng.delay_us();
            let host = UNIX_EPOCH + Duration::from_micros((capture_host + delay) as u64);
            let m = c.observe(sensor_us as u64, host);
            if t > settle {
                let err = m.latency.as_micros() as f64 - (delay - 2000.0);
                let captured = m
                    .captured_at
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_micros() as f64;
                let cap_err = captured - (capture_host + 2000.0);
                worst = worst.max(err.abs()).max(cap_err.abs());
            }
            t += 1.0 / 30.0;
        }
        eprintln!(
            "drift {drift_ppm} ppm: worst latency/capture error {worst:.0} µs, drift estimate {:?} ppm",
            c.drift_ppm()
        );
        assert!(worst < tolerance_us, "worst error {worst} µs");
        c
    }

    #[test]
    fn jitter_without_drift_is_filtered_to_the_floor() {
        let c = run(0.0, 60.0, 2.0, 400.0);
        assert_eq!(c.restarts(), 0);
        assert!(c.drift_ppm().unwrap().abs() < 20.0);
    }

    #[test]
    fn drift_is_estimated_and_followed() {
        for ppm in [-150.0, 250.0] {
            let c = run(ppm, 120.0, 8.0, 500.0);
            let est = c.drift_ppm().unwrap();
            assert!((est - ppm).abs() < 30.0, "drift {ppm} estimated as {est}");
        }
    }

    #[test]
    fn a_reboot_restarts_the_mapping() {
        let mut c = SensorClock::new();
        let at = |us: u64| UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000 + us);
        for i in 0..300u64 {
            let m = c.observe(
                100_000_000 + i * 33_333,
                at(i * 33_333 + 1000 + (i % 7) * 500),
            );
            assert!(!m.restarted);
        }
        // Sensor reboots 2 s later: its clock restarts near zero.
        let base = 300 * 33_333 + 2_000_000;
        let m = c.observe(50_000, at(base + 1000));
        assert!(m.restarted);
        assert_eq!(c.restarts(), 1);
        assert_eq!(m.latency, Duration::ZERO);
        for i in 1..100u64 {
            let m = c.observe(
                50_000 + i * 33_333,
                at(base + i * 33_333 + 1000 + (i % 5) * 700),
            );
            assert!(!m.restarted);
            assert!(m.latency <= Duration::from_micros(2800), "{:?}", m.latency);
        }
        // A clock set forward by an hour is a restart too.
        let m = c.observe(3_600_000_000, at(base + 100 * 33_333 + 1000));
        assert!(m.restarted);
        assert_eq!(c.restarts(), 2);
    }

    #[test]
    fn extreme_sensor_times_restart_the_mapping_without_overflow() {
        let mut c = SensorClock::new();
        let host = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        // Offsets near i64::MIN, then near +1.7e15 µs: the jump between
        // them does not fit an i64 difference.
        for (i, sensor_us) in [u64::MAX, 0, u64::MAX, u64::MAX / 2, 0]
            .into_iter()
            .enumerate()
        {
            let m = c.observe(sensor_us, host + Duration::from_millis(i as u64));
            assert_eq!(m.restarted, i > 0, "sample {i}");
        }
        assert_eq!(c.restarts(), 4);
    }
}
