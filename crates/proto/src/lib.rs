//! dronetel's public protobuf contract.
//!
//! # Layout
//! - [`v1`]: the prost types generated from `proto/telemetry.proto` at build time.
//! - [`tracker`]: the object tracker's wire messages from `proto/tracker.proto`.
//! - [`codec`]: the varint-length-delimited stream framing of [`v1::Frame`]s.
//! - [`json`]: the protobuf JSON mapping of a frame (proto field names), via reflection.
//! - [`time`]: conversions between `std::time` and the protobuf well-known types.
#![forbid(unsafe_code)]

pub mod codec;
pub mod json;
pub mod time;

/// Types generated from `proto/telemetry.proto` (`package dronetel.v1`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/dronetel.v1.rs"));
}

/// Types generated from `proto/tracker.proto` (`package
/// dronetel.tracker.v1`): the object tracker's own wire messages.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod tracker {
    include!(concat!(env!("OUT_DIR"), "/dronetel.tracker.v1.rs"));
}

/// The encoded `FileDescriptorSet` of every `.proto` file, so readers that have
/// only our bytes (JSON output, recordings) can decode frames by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dronetel_descriptor.bin"));

pub use codec::{encode_delimited, FrameCodec, FrameCodecError};
