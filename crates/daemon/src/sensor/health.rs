//! A sensor's health: its state machine and the counters it reports in
//! `SensorHealth` frames.

use std::time::Duration;

use dronetel_proto::v1::{SensorHealth, SensorState};
use dronetel_wire::Stats;
use tokio::time::Instant;

/// Health of one sensor link as the sensor task tracks it.
#[derive(Debug, Clone)]
pub struct Health {
    /// Current state.
    pub state: SensorState,
    /// Device path or description, reported as `device`.
    pub device: String,
    /// The error that made the sensor DISCONNECTED (empty otherwise).
    pub last_error: String,
    /// Bytes read from the device since the task started.
    pub bytes_read: u64,
    /// Successful opens after the first one.
    pub reopen_count: u64,
    /// Readings published to the bus.
    pub readings_published: u64,
    /// Bytes discarded by the task itself because the decoder left more than
    /// the read buffer's bound pending (counted as framing errors).
    pub overflow_discards: u64,
    /// Values the value contract removed from readings before publishing.
    pub invalid_values: u64,
    /// When the last good message arrived.
    pub last_message: Option<Instant>,
}

impl Health {
    /// A sensor that has just started.
    pub fn new(device: String) -> Self {
        Self {
            state: SensorState::Starting,
            device,
            last_error: String::new(),
            bytes_read: 0,
            reopen_count: 0,
            readings_published: 0,
            overflow_discards: 0,
            invalid_values: 0,
            last_message: None,
        }
    }

    /// Moves to `state`; returns true if that is a change. Leaving
    /// DISCONNECTED clears `last_error`.
    pub fn set(&mut self, state: SensorState) -> bool {
        if self.state == state {
            return false;
        }
        if self.state == SensorState::Disconnected {
            self.last_error.clear();
        }
        self.state = state;
        true
    }

    /// Time since the last good message.
    pub fn last_message_age(&self, now: Instant) -> Option<Duration> {
        self.last_message.map(|t| now.saturating_duration_since(t))
    }

    /// The `SensorHealth` frame body for these values and decoder counters.
    pub fn report(&self, stats: Stats, now: Instant) -> SensorHealth {
        SensorHealth {
            state: self.state as i32,
            last_message_age: self
                .last_message_age(now)
                .map(dronetel_proto::time::duration),
            bytes_read: self.bytes_read,
            messages_ok: stats.messages_ok,
            checksum_errors: stats.checksum_errors,
            framing_errors: stats.framing_errors + self.overflow_discards,
            reopen_count: self.reopen_count,
            device: self.device.clone(),
            last_error: self.last_error.clone(),
            unknown_messages: stats.unknown_messages,
            readings_published: self.readings_published,
            dropped_frames: stats.dropped_frames,
            decode_errors: stats.decode_errors,
            invalid_values: self.invalid_values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_disconnected_clears_the_error_and_report_carries_counters() {
        let mut h = Health::new("/dev/x".into());
        assert!(!h.set(SensorState::Starting));
        assert!(h.set(SensorState::Disconnected));
        h.last_error = "gone".into();
        h.bytes_read = 10;
        h.overflow_discards = 2;
        h.invalid_values = 6;
        let stats = Stats {
            framing_errors: 3,
            messages_ok: 4,
            ..Default::default()
        };
        let now = Instant::now();
        let r = h.report(stats, now);
        assert_eq!(r.state, SensorState::Disconnected as i32);
        assert_eq!((r.last_error.as_str(), r.framing_errors), ("gone", 5));
        assert_eq!((r.bytes_read, r.messages_ok), (10, 4));
        assert_eq!(r.invalid_values, 6);
        assert!(r.last_message_age.is_none());
        assert!(h.set(SensorState::Starting));
        assert!(h.last_error.is_empty());
        h.last_message = Some(now);
        assert!(h.report(stats, now).last_message_age.is_some());
    }
}
