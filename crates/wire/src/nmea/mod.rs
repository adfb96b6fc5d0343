//! NMEA 0183: sentence framing, parsing, epoch assembly and encoding.
//!
//! # Layout
//! - [`encode`]: sentence builders with checksums (used by `firmware-sim`).

pub mod encode;
