//! GPS week rollover: which receiver dates are corrected, and UTC
//! timestamps.
//!
//! # Decision: report what the receiver sent unless a rollover is proven
//! GPS broadcasts its week number in 10 bits, so it wraps every 1024 weeks
//! (about 19.6 years: 1999-08-22, 2019-04-07, next 2038-11-21). A receiver
//! whose firmware-baked pivot date has passed reports dates exactly 1024
//! weeks (7168 days) in the past. A date alone cannot tell such a receiver
//! from a recording replayed years later, so a date is corrected only when
//! the rollover is proven:
//! - **Garbage by any reading**: a date before [`GPS_DATE_FLOOR`]
//!   (2000-01-01: the GPS epoch of the second week era, 1999-08-22, plus a
//!   margin of 132 days) cannot be today's date on any receiver this
//!   software talks to or any recording it replays; NMEA's two-digit
//!   years make it a receiver that rolled over (1999-08-22 for
//!   2019-04-07). It is moved forward by 1024 weeks until it is past the
//!   floor.
//! - **Evidence**: a trusted outside clock ([`TimeEvidence`]: the host
//!   clock while the kernel says it is NTP-synchronized, or another time
//!   source of the daemon) says today is 1024·k weeks (k = 1..=4, ± 1
//!   day) after the receiver's date: the date is moved forward by k·1024
//!   weeks. The decoder never reads a clock itself (sans-I/O): the evidence
//!   is handed in by its owner ([`super::NmeaDecoder::set_time_evidence`]).
//!
//! Limits (also in `crates/wire/NMEA.md`): without evidence, a receiver
//! that rolled over to a date after the floor (e.g. 2019-era firmware
//! reporting 2019 dates after the 2038 rollover) is reported as it is
//! sent; a capture replayed is never moved unless it is 1024·k weeks old to
//! the day and the evidence says so; the evidence is only as good as its
//! clock (an unsynchronized host clock is never used).

use prost_types::Timestamp;

use super::field::{Date, TimeOfDay};

/// Dates before this (year, month, day) are GPS week rollover garbage by
/// any reading and are moved forward by 1024 weeks: the GPS epoch of the
/// second week era (1999-08-22) plus a margin to the end of 1999.
pub const GPS_DATE_FLOOR: (i32, u32, u32) = (2000, 1, 1);

/// Days in 1024 GPS weeks.
const ROLLOVER_DAYS: i64 = 1024 * 7;

/// Most rollovers (of 1024 weeks) a date is moved by.
const MAX_ROLLOVERS: i64 = 4;

/// Which clock vouches for today's date (logged with a correction). On a
/// u-blox port the UBX week vouches differently: UBX fixes redate the NMEA
/// fixes of their epochs (`ubx/merge.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The host clock, when its owner trusts it (the daemon: by default
    /// while the kernel's NTP state says it is synchronized, `adjtimex`:
    /// not `TIME_ERROR`, `STA_UNSYNC` clear; `[daemon] host_clock`).
    HostClock,
}

/// A trusted statement of the current time from outside the receiver: the
/// evidence that lets a receiver date 1024·k weeks behind it be corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEvidence {
    /// Seconds since 1970-01-01 UTC when the evidence was taken.
    pub unix_seconds: i64,
    /// Who vouches for it.
    pub source: TimeSource,
}

impl TimeEvidence {
    /// Day number (days since 1970-01-01) of the evidence.
    pub(crate) fn day(&self) -> i64 {
        self.unix_seconds.div_euclid(86_400)
    }
}

/// Days since 1970-01-01 of a receiver's date.
pub(crate) fn days_from_civil(d: Date) -> i64 {
    crate::calendar::days_from_civil(i64::from(d.year), d.month, d.day)
}

/// How a receiver date was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Correction {
    /// As sent.
    None,
    /// Moved by this many rollovers because it was before the floor.
    Floor(i64),
    /// Moved by this many rollovers on the evidence of this source.
    Evidence(i64, TimeSource),
}

/// Day number (since 1970-01-01) of `date` after rollover correction:
/// below `floor` (see [`GPS_DATE_FLOOR`]; `None`: no floor), moved past it;
/// then, with `evidence`, moved by k·1024 weeks when that lands within a
/// day of the evidence's date.
pub(crate) fn corrected_day(
    date: Date,
    floor: Option<(i32, u32, u32)>,
    evidence: Option<TimeEvidence>,
) -> (i64, Correction) {
    let mut day = days_from_civil(date);
    let mut how = Correction::None;
    if let Some((year, month, day_of_month)) = floor {
        let floor = days_from_civil(Date {
            year,
            month,
            day: day_of_month,
        });
        let mut k = 0;
        while day < floor && k < MAX_ROLLOVERS {
            day += ROLLOVER_DAYS;
            k += 1;
        }
        if k > 0 {
            how = Correction::Floor(k);
        }
    }
    if let Some(e) = evidence {
        let behind = e.day() - day;
        if let Some(k) = (1..=MAX_ROLLOVERS).find(|k| (behind - k * ROLLOVER_DAYS).abs() <= 1) {
            day += k * ROLLOVER_DAYS;
            how = Correction::Evidence(k, e.source);
        }
    }
    (day, how)
}

/// The UTC timestamp of a (corrected) day number and a time of day.
pub(crate) fn timestamp(day: i64, tod: TimeOfDay) -> Timestamp {
    let secs = (tod / 1_000_000_000) as i64;
    let nanos = (tod % 1_000_000_000) as i32;
    Timestamp {
        seconds: day * 86_400 + secs,
        nanos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(year: i32, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    fn host(date: Date) -> Option<TimeEvidence> {
        Some(TimeEvidence {
            unix_seconds: days_from_civil(date) * 86_400 + 43_200,
            source: TimeSource::HostClock,
        })
    }

    const FLOOR: Option<(i32, u32, u32)> = Some(GPS_DATE_FLOOR);

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(d(1970, 1, 1)), 0);
        assert_eq!(days_from_civil(d(2000, 3, 1)), 11_017);
        assert_eq!(days_from_civil(d(2019, 4, 7)), 17_993);
    }

    #[test]
    fn dates_are_kept_without_proof() {
        // A capture from 2014 replayed today is 2014.
        assert_eq!(
            corrected_day(d(2014, 12, 31), FLOOR, None),
            (days_from_civil(d(2014, 12, 31)), Correction::None)
        );
        // ... also with a synchronized host clock that is not 1024 weeks on.
        assert_eq!(
            corrected_day(d(2014, 12, 31), FLOOR, host(d(2026, 12, 1))).1,
            Correction::None
        );
    }

    #[test]
    fn dates_before_the_floor_are_garbage_and_corrected() {
        // A receiver that wrapped at the 2019-04-07 rollover reports
        // 1999-08-22 for 2019-04-07.
        assert_eq!(
            corrected_day(d(1999, 8, 22), FLOOR, None),
            (days_from_civil(d(2019, 4, 7)), Correction::Floor(1))
        );
        // Off.
        assert_eq!(
            corrected_day(d(1999, 8, 22), None, None).0,
            days_from_civil(d(1999, 8, 22))
        );
    }

    #[test]
    fn evidence_corrects_whole_rollovers_within_a_day() {
        // 2007-05-17 is 2026-12-31 less 1024 weeks.
        let real = days_from_civil(d(2026, 12, 31));
        for host_day in [d(2026, 12, 30), d(2026, 12, 31), d(2027, 1, 1)] {
            assert_eq!(
                corrected_day(d(2007, 5, 17), FLOOR, host(host_day)),
                (real, Correction::Evidence(1, TimeSource::HostClock))
            );
        }
        // Two days off: not a rollover.
        assert_eq!(
            corrected_day(d(2007, 5, 17), FLOOR, host(d(2027, 1, 2))).1,
            Correction::None
        );
        // Two rollovers: one for the floor, one on the evidence.
        assert_eq!(
            corrected_day(d(1988, 1, 1), FLOOR, host(d(2027, 4, 2))).0,
            days_from_civil(d(2027, 4, 2)),
        );
    }

    #[test]
    fn timestamps() {
        let t = timestamp(days_from_civil(d(2014, 12, 31)), 11_239_000_000_000 + 5);
        assert_eq!(t.seconds, 1_419_995_239);
        assert_eq!(t.nanos, 5);
    }
}
