//! Conversions between `std::time` values and the protobuf well-known types,
//! and the ranges protobuf allows them (its JSON mapping and every client
//! library refuse values outside).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds of the earliest valid `Timestamp`, 0001-01-01T00:00:00Z.
pub const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// Seconds of the latest valid `Timestamp`, 9999-12-31T23:59:59Z (its
/// nanoseconds may go up to 999 999 999).
pub const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
/// Largest magnitude of a valid `Duration`'s seconds: 10 000 years.
pub const MAX_DURATION_SECONDS: i64 = 315_576_000_000;
/// Largest magnitude of the nanoseconds of a `Timestamp` or `Duration`.
const MAX_NANOS: i32 = 999_999_999;

/// Whether `t` lies in protobuf's `Timestamp` range (0001-01-01T00:00:00Z
/// to 9999-12-31T23:59:59.999999999Z) with its nanoseconds normalized
/// (0 to 999 999 999): what a JSON mapping can print.
pub fn timestamp_is_valid(t: &prost_types::Timestamp) -> bool {
    (MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&t.seconds)
        && (0..=MAX_NANOS).contains(&t.nanos)
}

/// Whether `d` lies in protobuf's `Duration` range (±315 576 000 000 s)
/// with nanoseconds of at most 999 999 999 and the sign of the seconds.
pub fn duration_is_valid(d: &prost_types::Duration) -> bool {
    let sign_agrees = match d.seconds.signum() {
        1 => d.nanos >= 0,
        -1 => d.nanos <= 0,
        _ => true,
    };
    d.seconds.unsigned_abs() <= MAX_DURATION_SECONDS.unsigned_abs()
        && d.nanos.unsigned_abs() <= MAX_NANOS.unsigned_abs()
        && sign_agrees
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64, nanos: i32) -> prost_types::Timestamp {
        prost_types::Timestamp { seconds, nanos }
    }

    fn dur(seconds: i64, nanos: i32) -> prost_types::Duration {
        prost_types::Duration { seconds, nanos }
    }

    #[test]
    fn timestamp_range_is_year_1_to_9999_with_normalized_nanos() {
        assert!(timestamp_is_valid(&ts(MIN_TIMESTAMP_SECONDS, 0)));
        assert!(timestamp_is_valid(&ts(MAX_TIMESTAMP_SECONDS, MAX_NANOS)));
        assert!(!timestamp_is_valid(&ts(MIN_TIMESTAMP_SECONDS - 1, 0)));
        assert!(!timestamp_is_valid(&ts(MAX_TIMESTAMP_SECONDS + 1, 0)));
        assert!(!timestamp_is_valid(&ts(0, -1)));
        assert!(!timestamp_is_valid(&ts(0, MAX_NANOS + 1)));
        assert!(!timestamp_is_valid(&ts(i64::MAX, 0)));
        // The prost conversion of the latest std instant it can name.
        let far = timestamp(UNIX_EPOCH + Duration::from_micros(u64::MAX));
        assert!(!timestamp_is_valid(&far));
    }

    #[test]
    fn duration_range_is_ten_thousand_years_with_consistent_signs() {
        assert!(duration_is_valid(&dur(MAX_DURATION_SECONDS, MAX_NANOS)));
        assert!(duration_is_valid(&dur(-MAX_DURATION_SECONDS, -MAX_NANOS)));
        assert!(duration_is_valid(&dur(0, -5)));
        assert!(!duration_is_valid(&dur(MAX_DURATION_SECONDS + 1, 0)));
        assert!(!duration_is_valid(&dur(1, -1)));
        assert!(!duration_is_valid(&dur(-1, 1)));
        assert!(!duration_is_valid(&dur(0, MAX_NANOS + 1)));
        assert!(!duration_is_valid(&duration(Duration::MAX)));
    }
}
