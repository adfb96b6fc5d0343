//! Parsers of single NMEA field values. An empty field is `Ok(None)` (the
//! receiver did not report it); a field that is present but unreadable is
//! `Err(Malformed)`, which makes the whole sentence a framing error.

/// A field that is present but cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Result of parsing one field.
pub(crate) type FieldResult<T> = Result<Option<T>, Malformed>;

/// UTC time of day in nanoseconds since midnight (`hhmmss[.s...]`).
pub(crate) type TimeOfDay = u64;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    pub(crate) year: i32,
    pub(crate) month: u32,
    pub(crate) day: u32,
}

/// A decimal number such as `59.9`, `-21.3`, `1e3` is refused (NMEA never
/// uses exponents), as are NaN and infinities.
pub(crate) fn number(s: &str) -> FieldResult<f64> {
    // Whole numbers (elevations, azimuths, SNRs: most fields of a cycle)
    // in one pass over their digits: exact in f64 below 2^53, so no need
    // for the general float parser. Anything else (a dot, a sign, blanks,
    // an empty field, garbage) takes the general path below.
    if let Some(n) = digits(s.as_bytes()) {
        return Ok(Some(n as f64));
    }
    let s = s.trim_ascii();
    if s.is_empty() {
        return Ok(None);
    }
    let ok = s
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_digit() || b == b'.' || ((b == b'-' || b == b'+') && i == 0));
    if !ok {
        return Err(Malformed);
    }
    s.parse::<f64>().map(Some).map_err(|_| Malformed)
}

/// The value of 1 to 15 ASCII digits, else `None`.
fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 15 {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        let d = c.wrapping_sub(b'0');
        (d <= 9).then(|| n * 10 + u64::from(d))
    })
}

/// An unsigned integer such as `08`.
pub(crate) fn unsigned(s: &str) -> FieldResult<u32> {
    let s = s.trim_ascii();
    if s.is_empty() {
        return Ok(None);
    }
    s.bytes()
        .try_fold(0u32, |n, b| {
            let digit = b.is_ascii_digit().then(|| u32::from(b - b'0'))?;
            n.checked_mul(10)?.checked_add(digit)
        })
        .map(Some)
        .ok_or(Malformed)
}

/// A single-character flag such as `A`, `V`, `N`.
pub(crate) fn flag(s: &str) -> FieldResult<u8> {
    match s.as_bytes() {
        [] => Ok(None),
        [c] => Ok(Some(*c)),
        _ => Err(Malformed),
    }
}

/// `hhmmss` with any number of fraction digits (kept to the nanosecond).
pub(crate) fn time_of_day(s: &str) -> FieldResult<TimeOfDay> {
    if s.is_empty() {
        return Ok(None);
    }
    // A byte search, not `split_once('.')`: `str`'s char searcher is a
    // large function to bring into a cold cache for one dot.
    let dot = s.bytes().position(|b| b == b'.');
    let (whole, frac) = match dot {
        Some(i) => (s.get(..i).unwrap_or(s), s.get(i + 1..).unwrap_or("")),
        None => (s, ""),
    };
    if whole.len() != 6 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed);
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed);
    }
    let d = |i: usize| whole.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
    let (h, m, sec) = (d(0) * 10 + d(1), d(2) * 10 + d(3), d(4) * 10 + d(5));
    // 60 is a leap second.
    if h > 23 || m > 59 || sec > 60 {
        return Err(Malformed);
    }
    let mut nanos = 0u64;
    let mut scale = 100_000_000u64;
    for b in frac.bytes().take(9) {
        nanos += u64::from(b - b'0') * scale;
        scale /= 10;
    }
    Ok(Some(((h * 60 + m) * 60 + sec) * 1_000_000_000 + nanos))
}

/// RMC `ddmmyy`. Two-digit years are 1980..=2079 (GPS time starts in 1980);
/// week-rollover correction is applied later, on the whole date.
pub(crate) fn date_ddmmyy(s: &str) -> FieldResult<Date> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed);
    }
    let n = |i: usize| -> u32 { s[i..i + 2].parse().unwrap_or(0) };
    let yy = n(4) as i32;
    let year = if yy >= 80 { 1900 + yy } else { 2000 + yy };
    date(year, n(2), n(0))
}

/// A checked calendar date.
pub(crate) fn date(year: i32, month: u32, day: u32) -> FieldResult<Date> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(Malformed);
    }
    Ok(Some(Date { year, month, day }))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Latitude or longitude from `(d)ddmm.mmmm...` and its hemisphere letter.
/// The minutes are parsed as one decimal number, so any number of decimals
/// (high-precision 7- and 8-decimal outputs) keeps its full precision.
pub(crate) fn coordinate(value: &str, hemi: &str, max_deg: f64) -> FieldResult<f64> {
    if value.is_empty() {
        return Ok(None);
    }
    let sign = match hemi {
        "N" | "E" => 1.0,
        "S" | "W" => -1.0,
        _ => return Err(Malformed),
    };
    let dot = value.bytes().position(|b| b == b'.').unwrap_or(value.len());
    if dot < 3 || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(Malformed);
    }
    let (deg, min) = value.split_at(dot - 2);
    let deg: f64 = deg.parse().map_err(|_| Malformed)?;
    let min: f64 = min.parse().map_err(|_| Malformed)?;
    if min >= 60.0 {
        return Err(Malformed);
    }
    let v = deg + min / 60.0;
    if v > max_deg {
        return Err(Malformed);
    }
    Ok(Some(sign * v))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_keep_their_fraction() {
        assert_eq!(time_of_day("030719.000"), Ok(Some(11_239 * 1_000_000_000)));
        assert_eq!(time_of_day("000000.05"), Ok(Some(50_000_000)));
        assert_eq!(time_of_day("235960"), Ok(Some(86_400 * 1_000_000_000)));
        assert_eq!(time_of_day(""), Ok(None));
        assert_eq!(time_of_day("2400.0"), Err(Malformed));
        assert_eq!(time_of_day("250000"), Err(Malformed));
        assert_eq!(time_of_day("12a000"), Err(Malformed));
    }

    #[test]
    fn dates() {
        let d = date_ddmmyy("311214").unwrap().unwrap();
        assert_eq!((d.year, d.month, d.day), (2014, 12, 31));
        assert_eq!(date_ddmmyy("220899").unwrap().unwrap().year, 1999);
        assert_eq!(date_ddmmyy("2208-1"), Err(Malformed));
        assert_eq!(date_ddmmyy("310214"), Err(Malformed));
        assert_eq!(date_ddmmyy(""), Ok(None));
    }

    #[test]
    fn coordinates_keep_full_precision() {
        let lat = coordinate("3747.0873", "S", 90.0).unwrap().unwrap();
        assert!((lat - -37.784_788_333).abs() < 1e-9);
        let lon = coordinate("12118.85481", "W", 180.0).unwrap().unwrap();
        assert!((lon - -121.314_246_833).abs() < 1e-9);
        // 8-decimal minutes: 1e-8 minute is ~1.7e-10 degree.
        let a = coordinate("4807.03812345", "N", 90.0).unwrap().unwrap();
        let b = coordinate("4807.03812346", "N", 90.0).unwrap().unwrap();
        assert!(b > a);
        assert!((a - (48.0 + 7.038_123_45 / 60.0)).abs() < 1e-12);
        assert_eq!(coordinate("", "", 90.0), Ok(None));
        assert_eq!(coordinate("4807.0", "X", 90.0), Err(Malformed));
        assert_eq!(coordinate("9107.0", "N", 90.0), Err(Malformed));
        assert_eq!(coordinate("4867.0", "N", 90.0), Err(Malformed));
    }

    #[test]
    fn numbers() {
        assert_eq!(number("-21.3"), Ok(Some(-21.3)));
        assert_eq!(number(""), Ok(None));
        assert_eq!(number("1e3"), Err(Malformed));
        assert_eq!(number("NaN"), Err(Malformed));
        // Whole numbers, as the general parser reads them.
        for s in [
            "0",
            "07",
            "318",
            " 45",
            "45 ",
            "999999999999999",
            "9999999999999999",
        ] {
            assert_eq!(
                number(s),
                s.trim().parse::<f64>().map(Some).map_err(|_| Malformed),
                "{s}"
            );
        }
        assert_eq!(number("4 5"), Err(Malformed));
        assert_eq!(number("+12"), Ok(Some(12.0)));
        assert_eq!(number("12a"), Err(Malformed));
        assert_eq!(unsigned("08"), Ok(Some(8)));
        assert_eq!(unsigned("-1"), Err(Malformed));
        assert_eq!(flag("A"), Ok(Some(b'A')));
        assert_eq!(flag("AB"), Err(Malformed));
    }
}
