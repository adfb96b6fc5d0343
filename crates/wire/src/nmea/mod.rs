//! NMEA 0183: sentence framing, parsing, epoch assembly and encoding.
//!
//! The decoder is layered, each layer in its own file:
//! bytes → `framer` (bounded line framing, resync on junk) → `sentence`
//! (checksum, address, fields borrowed from the line) → `dispatch` (table
//! `{tag, min_fields, parse}` → `update` values) → `epoch` (cycle assembly
//! into one `GpsFix` per receiver cycle, using `cycle`, `satellites`, `mode`
//! and `rollover`) → [`NmeaDecoder`] (tokio-util `Decoder` +
//! [`crate::SensorDecoder`]). See `crates/wire/NMEA.md`.
//!
//! # Layout
//! - [`options`]: [`NmeaOptions`] and their defaults.
//! - [`decoder`]: [`NmeaDecoder`], the public entry point.
//! - `framer`, `sentence`, `field`, `dispatch`, `update`: bytes to parsed
//!   sentences.
//! - `epoch`, `cycle`, `satellites`, `mode`, `rollover`: parsed sentences
//!   to fixes (`mode`: the fix mode as gpsd reports it; `rollover`: which
//!   dates are GPS week rollovers, and [`TimeEvidence`]).
//! - [`encode`]: sentence builders with checksums (used by `firmware-sim`).
//! - [`lines`]: [`lines::SentenceLines`], whole checked sentences cut out of
//!   raw input unchanged (gpsd's `"nmea":true`).

mod cycle;
pub mod decoder;
mod dispatch;
pub mod encode;
mod epoch;
pub(crate) mod field;
mod framer;
pub mod lines;
mod mode;
pub mod options;
pub(crate) mod rollover;
mod satellites;
mod sentence;
mod update;

pub use decoder::NmeaDecoder;
pub use options::NmeaOptions;
pub use rollover::{TimeEvidence, TimeSource, GPS_DATE_FLOOR};
