//! Epoch timing of a simulated device: receiver cycles at whole multiples
//! of the period on the UTC clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Epoch times aligned to whole multiples of the period on the UTC clock,
/// as a receiver measures at .000, .200, .400 … at 5 Hz.
#[derive(Debug)]
pub(crate) struct Epochs {
    period_ns: u128,
    last_ns: u128,
}

impl Epochs {
    pub(crate) fn new(period: Duration) -> Epochs {
        Epochs {
            period_ns: period.as_nanos().max(1),
            last_ns: 0,
        }
    }

    fn nanos(t: SystemTime) -> u128 {
        t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
    }

    /// Changes the spacing of the epochs from the next one on (bursts).
    pub(crate) fn set_period(&mut self, period: Duration) {
        self.period_ns = period.as_nanos().max(1);
    }

    /// The instant of the next epoch boundary.
    pub(crate) fn first_tick(&self) -> tokio::time::Instant {
        let now = Self::nanos(SystemTime::now());
        let wait = self.period_ns - now % self.period_ns;
        tokio::time::Instant::now() + Duration::from_nanos(wait as u64)
    }

    /// The epoch of a tick that fired at `now`: the nearest boundary, and
    /// always after the previous epoch.
    pub(crate) fn next(&mut self, now: SystemTime) -> SystemTime {
        let now = Self::nanos(now);
        let mut epoch = (now + self.period_ns / 2) / self.period_ns * self.period_ns;
        if epoch <= self.last_ns {
            epoch = self.last_ns + self.period_ns;
        }
        self.last_ns = epoch;
        UNIX_EPOCH + Duration::from_nanos(epoch as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_snap_to_the_period_and_never_repeat() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        let mut e = Epochs::new(Duration::from_millis(200));
        assert_eq!(e.next(at(1_000_003)), at(1_000_000));
        assert_eq!(e.next(at(1_000_199)), at(1_000_200));
        // A tick landing early on the same boundary moves on by a period.
        assert_eq!(e.next(at(1_000_230)), at(1_000_400));
        assert_eq!(e.next(at(1_001_010)), at(1_001_000));
        let mut e = Epochs::new(Duration::from_secs_f64(1.0 / 3.0));
        let a = e.next(at(1_000_001));
        let b = e.next(at(1_000_334));
        assert_eq!(
            b.duration_since(a).expect("b after a"),
            Duration::from_nanos(333_333_333)
        );
    }
}
