//! Civil dates and day numbers, and the GPS time scale's epoch and week,
//! for the decoders, encoders and report writers that move between a
//! timestamp and year, month, day or GPS week and time of week without a
//! date library.

/// Seconds from the Unix epoch to the GPS epoch (1980-01-06 00:00 UTC).
pub const GPS_EPOCH_UNIX: i64 = 315_964_800;
/// Seconds in a GPS week.
pub const WEEK_SECS: i64 = 604_800;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`; the inverse of [`civil_from_days`]). The NMEA and UBX
/// decoders date their fixes with it.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month 1–12, day 1–31) of `days` since
/// 1970-01-01, negative days included (Howard Hinnant's
/// `civil_from_days`). The NMEA and UBX encoders and the daemon's gpsd
/// reports write dates from timestamps with it.
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_of_day_numbers() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_189), (2025, 4, 11));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn day_numbers_round_trip() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m.into(), d.into()), days);
        }
        assert_eq!(days_from_civil(2019, 4, 7), 17_993);
    }
}
