//! [`NmeaOptions`]: the knobs of the NMEA decoder.

use std::time::Duration;

use super::rollover::GPS_DATE_FLOOR;

/// How an [`super::NmeaDecoder`] treats its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmeaOptions {
    /// Reject sentences without a `*hh` checksum (default true). When false,
    /// unchecksummed sentences are accepted; a present but wrong checksum is
    /// always rejected.
    pub require_checksum: bool,
    /// Longest sentence accepted, in bytes from `$` to the checksum (default
    /// 256; NMEA allows 82). Longer lines are discarded as framing errors,
    /// which also bounds the decoder's memory.
    pub max_sentence_len: usize,
    /// How long the line must stay quiet before the reader calls
    /// `flush_idle` to publish a cycle whose closing sentence is not learned
    /// yet (default 100 ms).
    pub idle_gap: Duration,
    /// GPS week rollover floor (year, month, day): receiver dates before it
    /// are rollover garbage by any reading and are moved forward by 1024
    /// weeks. Default [`GPS_DATE_FLOOR`] (2000-01-01); `None` turns that
    /// correction off. Later dates are only corrected on evidence (see
    /// [`super::NmeaDecoder::set_time_evidence`] and `crates/wire/NMEA.md`).
    pub rollover_floor: Option<(i32, u32, u32)>,
}

impl Default for NmeaOptions {
    fn default() -> Self {
        Self {
            require_checksum: true,
            max_sentence_len: 256,
            idle_gap: Duration::from_millis(100),
            rollover_floor: Some(GPS_DATE_FLOOR),
        }
    }
}
