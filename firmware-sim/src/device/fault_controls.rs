//! The fault controls of a device handle: the public side of
//! [`crate::fault`], which tests and the CLI call to inject faults at runtime.

use std::time::Duration;

use super::DeviceHandle;
use crate::fault::{FaultRates, FaultStats, GPS_WEEK_ROLLOVER};

impl DeviceHandle {
    /// Sets the per-message fault probabilities from the next cycle on
    /// ([`FaultRates::default`] switches them off). Rejects (returns
    /// `false`, changing nothing) probabilities outside `0..=1` or summing
    /// above 1.
    pub fn set_fault_rates(&self, rates: FaultRates) -> bool {
        if !rates.is_valid() {
            return false;
        }
        self.faults().with(|s| s.rates = rates);
        tracing::info!(device = self.name(), ?rates, "fault rates changed");
        true
    }

    /// Sends `n` cycles per period (a burst at `n`× the rate) until set
    /// back to 1; 0 counts as 1. The epochs stay on the real clock, spaced
    /// by the shorter period.
    pub fn set_rate_multiplier(&self, n: u32) {
        let n = n.max(1);
        self.faults().with(|s| s.rate_multiplier = n);
        tracing::info!(
            device = self.name(),
            multiplier = n,
            "rate multiplier changed"
        );
    }

    /// Writes `bytes` random bytes on the line, in chunks of up to 16 KiB
    /// per tick in front of the cycles (which count as touched).
    pub fn inject_noise(&self, bytes: u64) {
        self.faults().with(|s| s.noise_pending += bytes);
        tracing::info!(device = self.name(), bytes, "random byte stream queued");
    }

    /// Sets the device's clock back by `by` from the next cycle on: its
    /// timestamps (and the model, which runs on them) jump backwards.
    /// Cumulative.
    pub fn jump_time_back(&self, by: Duration) {
        self.faults().with(|s| {
            s.clock_behind += by;
            s.stats.time_jumps += 1;
        });
        tracing::info!(device = self.name(), back = ?by, "device clock jumped back");
    }

    /// The GPS week-rollover bug: the device dates everything 1024 weeks
    /// ([`GPS_WEEK_ROLLOVER`]) early from the next cycle on.
    pub fn gps_week_rollover(&self) {
        self.jump_time_back(GPS_WEEK_ROLLOVER);
    }

    /// Puts the device's clock back on real time (after time jumps).
    pub fn reset_clock(&self) {
        self.faults().with(|s| s.clock_behind = Duration::ZERO);
    }

    /// What was injected so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.faults().with(|s| s.stats)
    }

    /// The current rate multiplier.
    pub fn rate_multiplier(&self) -> u32 {
        self.faults().with(|s| s.rate_multiplier)
    }
}
