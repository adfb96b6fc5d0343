//! Conversions between `std::time` values and the protobuf well-known types.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The protobuf `Timestamp` of a wall-clock instant (before 1970 clamps to 0).
pub fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// The protobuf `Duration` of a `std` duration (saturating).
pub fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos() as i32,
    }
}

/// Seconds since the Unix epoch of a protobuf `Timestamp`, as a float.
pub fn timestamp_secs(t: &prost_types::Timestamp) -> f64 {
    t.seconds as f64 + f64::from(t.nanos) * 1e-9
}
