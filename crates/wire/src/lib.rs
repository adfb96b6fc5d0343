//! Sans-I/O decoders and encoders of sensor wire protocols, shared by the
//! daemon and `firmware-sim`. Nothing here touches I/O or a runtime: bytes go
//! in, typed readings come out (and the reverse for encoders).
//!
//! # Layout
//! - [`reading`]: [`Reading`], what any sensor decoder produces, and the
//!   [`SensorDecoder`] trait the daemon's one generic sensor task drives.
//! - [`stats`]: [`Stats`], the per-link counters every decoder keeps.
//! - [`nmea`]: NMEA 0183 framing, sentence parsing, epoch assembly, encoding.

pub mod nmea;
pub mod reading;
pub mod stats;

pub use reading::{Reading, SensorDecoder};
pub use stats::Stats;
