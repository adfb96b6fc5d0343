//! The flight-controller link: MAVLink v1/v2 (common dialect) through the
//! `mavlink` crate's own incremental parser, mapped to battery, GPS and
//! vehicle-status readings.
//!
//! # Layout
//! - [`decoder`]: [`MavlinkDecoder`], the crate's `MavlinkReader` fed from
//!   the sans-I/O buffer, with counters kept by a counting dialect.
//! - [`convert`]: message → [`crate::Reading`] (unknown markers → absent).
//! - [`options`]: [`MavlinkOptions`] and the optional message-rate requests.
//! - [`signing`]: MAVLink 2 signatures checked (constant time, replay
//!   protection) and made.
//! - [`encode`]: frame builders (rate requests here, the simulator's
//!   messages in `firmware-sim`).

pub mod convert;
pub mod decoder;
pub mod encode;
pub mod options;
pub mod signing;

#[cfg(test)]
mod tests;

pub use decoder::MavlinkDecoder;
pub use options::{MavlinkOptions, RateRequest};
pub use signing::SigningKey;

/// The dialect every dronetel MAVLink link speaks.
pub use mavlink::dialects::common;
