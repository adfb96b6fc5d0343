//! Sans-I/O decoders and encoders of sensor wire protocols, shared by the
//! daemon and `firmware-sim`. Nothing here touches I/O or a runtime: bytes go
//! in, typed readings come out (and the reverse for encoders).
//!
//! # Layout
//! - [`reading`]: [`Reading`], what any sensor decoder produces, and the
//!   [`SensorDecoder`] trait the daemon's one generic sensor task drives.
//! - [`stats`]: [`Stats`], the per-link counters every decoder keeps.
//! - [`contract`]: the value contract, the valid range of every field of
//!   every reading, and [`contract::enforce`], which the daemon applies to
//!   each reading of any protocol before publishing it.
//! - [`calendar`]: civil dates and day numbers, the GPS epoch and week:
//!   for the decoders, the encoders and the daemon's gpsd reports.
//! - [`geoid`]: gpsd's geoid model, the geoid separation at a position
//!   for receivers that send none (what gpsd reports in their place).
//! - [`nmea`]: NMEA 0183 framing, sentence parsing, epoch assembly, encoding.
//! - [`mavlink`]: the flight-controller link: the `mavlink` crate's parser
//!   behind the decoder contract, messages → battery, GPS, vehicle status.
//! - [`tracker`]: the object tracker's COBS + CRC-32 protobuf frames, and
//!   the sensor-clock → host-clock mapping behind the latency estimate.
//! - [`ubx`]: u-blox UBX binary framing, messages, epoch assembly and
//!   encoding; [`ubx::UbloxDecoder`] decodes UBX and NMEA interleaved on
//!   one port (`protocol = "ublox"`).
#![forbid(unsafe_code)]
// No panic reachable from input: non-test code reads with `.get()`, `?` and
// checked arithmetic; an allow names its reason on the smallest item.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod calendar;
pub mod contract;
pub mod geoid;
pub mod mavlink;
pub mod nmea;
pub mod reading;
pub mod stats;
pub mod tracker;
pub mod ubx;

pub use reading::{Reading, SensorDecoder};
pub use stats::Stats;
