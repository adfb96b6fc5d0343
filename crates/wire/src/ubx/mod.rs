//! u-blox UBX: binary framing, message parsing, epoch assembly, encoding,
//! and the combined decoder for ports that interleave UBX and NMEA.
//!
//! The decoder is layered like the NMEA one, each layer in its own file:
//! bytes → `decoder` (demultiplexer: `B5` to the UBX framer, the rest to the
//! NMEA framer or junk) → `framer` (`B5 62`, class, id, length, Fletcher
//! checksum; bounded; resync after the sync of a rejected frame) →
//! `dispatch` (table `{class, id, min_len, parse}` → `message` values) →
//! `epoch` (one `GpsFix` per `iTOW`, published at NAV-EOE or a learned last
//! message; `ecef` for ECEF-only receivers) → `merge` (one fix per epoch
//! with the NMEA side) → [`UbxDecoder`] / [`UbloxDecoder`] (tokio-util
//! `Decoder` + [`crate::SensorDecoder`]). See `crates/wire/UBX.md`.
//!
//! # Why not the `ublox` crate
//! `ublox` 0.10 (MIT) parses UBX into typed packets, but its `Parser` keeps
//! its own buffer and drops bytes before a sync silently, so the decoder
//! contract's counters (junk runs, truncated and over-long frames) would
//! need a second scan of the stream; one parser speaks one protocol version
//! (a type parameter), while one port may need u-blox 4 messages (NAV-SOL,
//! NAV-SVINFO) and F9/X20 ones, NAV-PVT in both its 84- and 92-byte forms;
//! and it brings chrono, bitflags, num-traits and a proc-macro crate for
//! what here is fifteen fixed-offset little-endian reads. Epoch assembly,
//! ECEF conversion and the NMEA side are needed either way.
//!
//! # Layout
//! - [`options`]: [`UbxOptions`] and their defaults.
//! - [`decoder`]: [`UbxDecoder`] and [`UbloxDecoder`], the entry points.
//! - `framer`, `dispatch`, [`message`]: bytes to parsed messages.
//! - `epoch`, `ecef`, `merge`: parsed messages to fixes.
//! - [`encode`]: frame builders with checksums.
//! - [`setup`]: receiver set-up (`configure`): CFG-MSG / CFG-VALSET
//!   requests and their ACK-ACK / ACK-NAK.

pub mod decoder;
mod dispatch;
mod ecef;
pub mod encode;
mod epoch;
mod framer;
mod merge;
pub mod message;
pub mod options;
pub mod setup;

pub use decoder::{UbloxDecoder, UbxDecoder};
pub use framer::{fletcher, SYNC1, SYNC2};
pub use options::UbxOptions;
