//! dronetel's public protobuf contract.
//!
//! # Layout
//! - [`v1`]: the prost types generated from `proto/telemetry.proto` at build time.
//! - [`tracker`]: the object tracker's wire messages from `proto/tracker.proto`.
//! - [`foxglove`]: Foxglove's well-known schemas (`proto/foxglove/`, MIT).
//! - [`codec`]: the varint-length-delimited stream framing of [`v1::Frame`]s.
//! - [`json`]: the protobuf JSON mapping of a frame (proto field names), via
//!   reflection (feature `json`, on by default: it brings prost-reflect).
//! - [`time`]: conversions between `std::time` and the protobuf well-known types.
#![forbid(unsafe_code)]

pub mod codec;
#[cfg(feature = "json")]
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

/// Foxglove's published schemas (`package foxglove`, vendored under
/// `proto/foxglove/` with their MIT licence): the well-known messages
/// Foxglove's panels draw (Map, Log, 3D), which dronetel publishes beside
/// its frames.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod foxglove {
    include!(concat!(env!("OUT_DIR"), "/foxglove.rs"));
}

/// The schema data a Foxglove client decodes `foxglove.LocationFix` with:
/// its `FileDescriptorSet` (the file and its imports, no comments).
pub const FOXGLOVE_LOCATION_FIX: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/foxglove.LocationFix.bin"));

/// The schema data of `foxglove.Log` (see [`FOXGLOVE_LOCATION_FIX`]).
pub const FOXGLOVE_LOG: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/foxglove.Log.bin"));

/// The schema data of `foxglove.SceneUpdate` (see [`FOXGLOVE_LOCATION_FIX`]).
pub const FOXGLOVE_SCENE_UPDATE: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/foxglove.SceneUpdate.bin"));

/// The encoded `FileDescriptorSet` of dronetel's own `.proto` files, so readers that have
/// only our bytes (JSON output, recordings) can decode frames by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dronetel_descriptor.bin"));

pub use codec::{encode_delimited, FrameCodec, FrameCodecError};
