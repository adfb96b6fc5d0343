//! The object tracker's wire protocol (README "Tracker protocol"): each
//! frame is `COBS(TrackerReport bytes ‖ CRC-32/ISO-HDLC LE) 0x00`, with the
//! `TrackerReport` of `proto/tracker.proto`.
//!
//! # Layout
//! - [`frame`]: frame encoding and the bounded COBS framer (resync on 0x00).
//! - [`clock`]: [`SensorClock`], the sensor-clock → host-clock mapping
//!   behind the latency estimate (pure: host times are inputs).
//! - [`decoder`]: [`TrackerDecoder`], frames → [`crate::Reading::Tracking`]
//!   with frame-counter gap counting.

pub mod clock;
pub mod decoder;
pub mod frame;

#[cfg(test)]
mod tests;

pub use clock::{Mapping, SensorClock};
pub use decoder::TrackerDecoder;
pub use frame::{encode, MAX_FRAME};
