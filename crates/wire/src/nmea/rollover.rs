//! GPS week rollover correction and UTC timestamps.
//!
//! # Decision
//! GPS broadcasts its week number in 10 bits, so it wraps every 1024 weeks
//! (about 19.6 years: 1999-08-22, 2019-04-07, next 2038-11-21). A receiver
//! whose firmware-baked pivot date has passed reports dates exactly 1024
//! weeks in the past. Like gpsd we correct against a *floor*: while a
//! receiver date lies before the floor, 1024 weeks (7168 days) are added.
//! The floor is [`ROLLOVER_FLOOR`], a constant near this release's date,
//! never the host clock: companion computers often boot without an RTC,
//! so the host clock is the least trustworthy clock on the vehicle.
//!
//! Consequences, documented in `crates/wire/NMEA.md`:
//! - a correct receiver is never changed (its dates are after the floor);
//! - a rolled-over receiver is corrected until about 19.6 years after the
//!   floor (2046), by which time a newer release carries a newer floor;
//! - replaying a capture recorded before the floor shows its dates moved
//!   forward by 1024 weeks (gpsd does the same); the time of day is exact;
//! - `NmeaOptions::rollover_floor = None` turns the correction off.

use prost_types::Timestamp;

use super::field::{Date, TimeOfDay};

/// Dates before this (year, month, day) are taken as GPS week rollover
/// victims and moved forward by 1024 weeks. Set near the release date.
pub const ROLLOVER_FLOOR: (i32, u32, u32) = (2026, 11, 1);

/// Days in 1024 GPS weeks.
const ROLLOVER_DAYS: i64 = 1024 * 7;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(d: Date) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Day number (since 1970-01-01) of `date` after rollover correction.
pub(crate) fn corrected_day(date: Date, floor: Option<(i32, u32, u32)>) -> i64 {
    let mut day = days_from_civil(date);
    if let Some((year, month, day_of_month)) = floor {
        let floor = days_from_civil(Date {
            year,
            month,
            day: day_of_month,
        });
        // Bounded: a date from before 1980 is not a GPS date at all.
        for _ in 0..4 {
            if day >= floor {
                break;
            }
            day += ROLLOVER_DAYS;
        }
    }
    day
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

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(d(1970, 1, 1)), 0);
        assert_eq!(days_from_civil(d(2000, 3, 1)), 11_017);
        assert_eq!(days_from_civil(d(2019, 4, 7)), 17_993);
    }

    #[test]
    fn rollover_moves_old_dates_forward_by_1024_weeks() {
        let floor = Some((2026, 11, 1));
        // A receiver that wrapped at the 2019-04-07 rollover reports
        // 1999-08-22 for 2019-04-07.
        assert_eq!(
            corrected_day(d(1999, 8, 22), Some((2019, 1, 1))),
            days_from_civil(d(2019, 4, 7))
        );
        // A correct date is untouched.
        assert_eq!(
            corrected_day(d(2027, 1, 5), floor),
            days_from_civil(d(2027, 1, 5))
        );
        // 2014-12-31 + 7168 days, as gpsd reports it.
        assert_eq!(
            corrected_day(d(2014, 12, 31), floor),
            days_from_civil(d(2034, 8, 16))
        );
        // Off.
        assert_eq!(
            corrected_day(d(1999, 8, 22), None),
            days_from_civil(d(1999, 8, 22))
        );
    }

    #[test]
    fn timestamps() {
        let t = timestamp(days_from_civil(d(2014, 12, 31)), 11_239_000_000_000 + 5);
        assert_eq!(t.seconds, 1_419_995_239);
        assert_eq!(t.nanos, 5);
    }
}
