//! NMEA 0183 sentence encoders: build sentences with correct checksums.
//!
//! Pure functions, no I/O: every builder appends one or more complete
//! sentences (`$…*HH\r\n`) to a caller-owned buffer (any `BufMut`:
//! `Vec<u8>`, `BytesMut`), so a whole receiver cycle is assembled in one
//! reusable buffer without further allocation.
//! `firmware-sim` uses them to play a receiver; tests use them to make input.
//!
//! Numbers are written with a fixed number of decimals chosen by
//! [`NmeaStyle`]. The [`quantize`] and [`quantize_coordinate`] helpers give the
//! exact value a sentence carries, so a simulator can state the truth it sent.
//!
//! # Layout
//! - this file: [`SentenceWriter`] (generic writer, checksum), field
//!   formatting, [`NmeaStyle`], quantization helpers, UTC calendar maths.
//! - `sentences`: the builders [`rmc`], [`vtg`], [`gga`], [`gsa`], [`gsv`],
//!   [`gll`], [`gst`] and [`zda`], from a [`dronetel_proto::v1::GpsFix`].

mod sentences;

use std::io::Write as _;

use bytes::BufMut;

use dronetel_proto::v1::Constellation;

pub use sentences::{gga, gll, gsa, gst, gsv, rmc, vtg, zda, GstErrors};

/// How numbers and optional fields are written. The default is a u-blox M9/F9
/// receiver in NMEA 4.10 mode with `CFG-NMEA-HIGHPREC` on (7 minute decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NmeaStyle {
    /// Talker of the navigation sentences (RMC, VTG, GGA, GSA, GLL, GST, ZDA).
    pub talker: [u8; 2],
    /// Decimals of the minutes of latitude and longitude (u-blox: 5, or 7 in
    /// high-precision mode).
    pub latlon_decimals: u8,
    /// Decimals of the seconds of UTC times (u-blox: 2). At most 9.
    pub time_decimals: u8,
    /// Decimals of altitude and geoid separation in metres.
    pub altitude_decimals: u8,
    /// Decimals of speeds (knots, km/h).
    pub speed_decimals: u8,
    /// Decimals of the course over ground in degrees.
    pub course_decimals: u8,
    /// Decimals of the dilutions of precision.
    pub dop_decimals: u8,
    /// Decimals of the GST error estimates (metres and degrees).
    pub error_decimals: u8,
    /// NMEA 4.10 fields: system ID in GSA, signal ID in GSV, navigational
    /// status in RMC.
    pub nmea_4_10: bool,
}

impl Default for NmeaStyle {
    fn default() -> Self {
        NmeaStyle {
            talker: *b"GN",
            latlon_decimals: 7,
            time_decimals: 2,
            altitude_decimals: 3,
            speed_decimals: 3,
            course_decimals: 2,
            dop_decimals: 2,
            error_decimals: 2,
            nmea_4_10: true,
        }
    }
}

/// Writes one sentence field by field and closes it with its checksum.
///
/// Created with the address (`$` + talker + tag); every `field_*` call adds a
/// comma and the field; [`SentenceWriter::finish`] appends `*HH\r\n`. The
/// checksum is kept as bytes go out, so any [`BufMut`] works as the output
/// (`Vec<u8>`, `BytesMut`) and nothing is read back. Dropping a writer
/// without `finish` leaves an unterminated sentence.
#[derive(Debug)]
pub struct SentenceWriter<'a, B: BufMut> {
    out: &'a mut B,
    sum: u8,
}

impl<'a, B: BufMut> SentenceWriter<'a, B> {
    /// Starts a sentence `$<talker><tag>` at the end of `out`.
    pub fn new(out: &'a mut B, talker: &[u8], tag: &[u8]) -> Self {
        out.put_u8(b'$');
        let mut w = SentenceWriter { out, sum: 0 };
        w.put(talker);
        w.put(tag);
        w
    }

    fn put(&mut self, bytes: &[u8]) {
        self.sum = bytes.iter().fold(self.sum, |acc, b| acc ^ b);
        self.out.put_slice(bytes);
    }

    /// Formats into a stack buffer (every field is far shorter than 64
    /// bytes) and puts the result.
    fn put_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let mut buf = [0u8; 64];
        let mut rest = &mut buf[..];
        // A longer field (none is) would be cut, never a panic.
        let _ = rest.write_fmt(args);
        let n = 64 - rest.len();
        self.put(buf.get(..n).unwrap_or_default());
    }

    /// Adds a field given as raw bytes (must not contain `,`, `*` or `$`).
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.put(b",");
        self.put(bytes);
        self
    }

    /// Adds an empty field.
    pub fn empty(&mut self) -> &mut Self {
        self.field(b"")
    }

    /// Adds an unsigned integer zero-padded to `width` digits.
    pub fn uint(&mut self, v: u64, width: usize) -> &mut Self {
        self.put(b",");
        self.put_fmt(format_args!("{v:0width$}"));
        self
    }

    /// Adds a number with `decimals` decimals, or an empty field for `None`.
    pub fn fixed(&mut self, v: Option<f64>, decimals: u8) -> &mut Self {
        self.put(b",");
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.put_fixed(v, decimals, 1);
        }
        self
    }

    /// Adds a number rounded to an integer zero-padded to `width` digits, or
    /// an empty field for `None`.
    pub fn rounded(&mut self, v: Option<f64>, width: usize) -> &mut Self {
        self.put(b",");
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.put_fixed(v, 0, width);
        }
        self
    }

    /// Adds latitude as `ddmm.mmm…,N|S` (two fields; both empty for `None`).
    pub fn latitude(&mut self, deg: Option<f64>, decimals: u8) -> &mut Self {
        self.coordinate(deg, decimals, 2, [b'N', b'S'])
    }

    /// Adds longitude as `dddmm.mmm…,E|W` (two fields; both empty for `None`).
    pub fn longitude(&mut self, deg: Option<f64>, decimals: u8) -> &mut Self {
        self.coordinate(deg, decimals, 3, [b'E', b'W'])
    }

    fn coordinate(
        &mut self,
        deg: Option<f64>,
        decimals: u8,
        deg_width: usize,
        hemi: [u8; 2],
    ) -> &mut Self {
        self.put(b",");
        let Some(v) = deg.filter(|v| v.is_finite()) else {
            self.put(b",");
            return self;
        };
        let (whole, minutes) = split_coordinate(v, decimals);
        let scale = pow10(decimals);
        self.put_fmt(format_args!("{whole:0deg_width$}{:02}", minutes / scale));
        self.put_frac(minutes % scale, decimals);
        self.put(&[b',', if v < 0.0 { hemi[1] } else { hemi[0] }]);
        self
    }

    /// Adds a UTC time of day `hhmmss.ss…` (seconds truncated to `decimals`),
    /// or an empty field for `None`.
    pub fn time(&mut self, t: Option<&prost_types::Timestamp>, decimals: u8) -> &mut Self {
        self.put(b",");
        if let Some(t) = t {
            let u = Utc::from_timestamp(t);
            self.put_fmt(format_args!("{:02}{:02}{:02}", u.hour, u.minute, u.second));
            let d = decimals.min(9);
            self.put_frac(u64::from(u.nanos) / pow10(9 - d), d);
        }
        self
    }

    /// Writes `v` with `decimals` decimals, the integer part zero-padded to
    /// `int_width`; no sign when the written value is zero.
    fn put_fixed(&mut self, v: f64, decimals: u8, int_width: usize) {
        let scale = pow10(decimals);
        let scaled = (v.abs() * scale as f64).round() as u64;
        if v < 0.0 && scaled != 0 {
            self.put(b"-");
        }
        self.put_fmt(format_args!("{:0int_width$}", scaled / scale));
        self.put_frac(scaled % scale, decimals);
    }

    fn put_frac(&mut self, frac: u64, decimals: u8) {
        if decimals > 0 {
            let w = usize::from(decimals);
            self.put_fmt(format_args!(".{frac:0w$}"));
        }
    }

    /// Closes the sentence with `*HH\r\n`, the XOR of the bytes between `$`
    /// and `*` in upper-case hex.
    pub fn finish(self) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let sum = self.sum;
        self.out.put_slice(&[
            b'*',
            HEX.get(usize::from(sum >> 4)).copied().unwrap_or(b'0'),
            HEX.get(usize::from(sum & 0xF)).copied().unwrap_or(b'0'),
            b'\r',
            b'\n',
        ]);
    }
}

/// Appends a complete sentence `$<talker><tag>,<fields…>*HH\r\n` to `out`.
pub fn write_sentence(out: &mut impl BufMut, talker: &[u8], tag: &[u8], fields: &[&[u8]]) {
    let mut w = SentenceWriter::new(out, talker, tag);
    for f in fields {
        w.field(f);
    }
    w.finish();
}

/// The NMEA checksum of a sentence body (the bytes between `$` and `*`).
pub fn checksum(body: &[u8]) -> u8 {
    body.iter().fold(0, |acc, b| acc ^ b)
}

/// The value a field written with `decimals` decimals carries (round half away
/// from zero, as the writer does).
pub fn quantize(v: f64, decimals: u8) -> f64 {
    let scale = pow10(decimals) as f64;
    (v * scale).round() / scale
}

/// The value in degrees a latitude or longitude written with
/// `minute_decimals` decimals of minutes carries.
pub fn quantize_coordinate(deg: f64, minute_decimals: u8) -> f64 {
    let (whole, minutes) = split_coordinate(deg, minute_decimals);
    let m = minutes as f64 / pow10(minute_decimals) as f64;
    let q = whole as f64 + m / 60.0;
    if deg < 0.0 {
        -q
    } else {
        q
    }
}

/// The NMEA 4.10 system ID of a constellation (GSA field 18, GSV signal
/// tables): GPS and SBAS 1, GLONASS 2, Galileo 3, BeiDou 4, QZSS 5, NavIC 6.
pub fn system_id(c: Constellation) -> Option<u8> {
    match c {
        Constellation::Gps | Constellation::Sbas => Some(1),
        Constellation::Glonass => Some(2),
        Constellation::Galileo => Some(3),
        Constellation::Beidou => Some(4),
        Constellation::Qzss => Some(5),
        Constellation::Navic => Some(6),
        Constellation::Unspecified => None,
    }
}

/// The talker a receiver uses for the GSV sentences of a constellation
/// (NMEA 4.11: GP, GL, GA, GB, GQ, GI).
pub fn constellation_talker(c: Constellation) -> [u8; 2] {
    match c {
        Constellation::Gps | Constellation::Sbas | Constellation::Unspecified => *b"GP",
        Constellation::Glonass => *b"GL",
        Constellation::Galileo => *b"GA",
        Constellation::Beidou => *b"GB",
        Constellation::Qzss => *b"GQ",
        Constellation::Navic => *b"GI",
    }
}

/// Whole degrees and the minutes scaled by `10^decimals`, rounded, with a
/// carry into the degrees when the minutes round up to 60.
fn split_coordinate(deg: f64, decimals: u8) -> (u64, u64) {
    let a = deg.abs();
    let mut whole = a.floor();
    let scale = pow10(decimals);
    let mut minutes = ((a - whole) * 60.0 * scale as f64).round() as u64;
    if minutes >= 60 * scale {
        whole += 1.0;
        minutes -= 60 * scale;
    }
    (whole as u64, minutes)
}

fn pow10(d: u8) -> u64 {
    10u64.pow(u32::from(d.min(18)))
}

/// A UTC calendar date and time of day broken out of a Unix timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

impl Utc {
    fn from_timestamp(t: &prost_types::Timestamp) -> Utc {
        let days = t.seconds.div_euclid(86_400);
        let sod = t.seconds.rem_euclid(86_400) as u32;
        let (year, month, day) = crate::calendar::civil_from_days(days);
        let (month, day) = (u32::from(month), u32::from(day));
        Utc {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            nanos: t.nanos.clamp(0, 999_999_999) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_matches_known_dates() {
        let t = |s| {
            Utc::from_timestamp(&prost_types::Timestamp {
                seconds: s,
                nanos: 0,
            })
        };
        let u = t(0);
        assert_eq!((u.year, u.month, u.day, u.hour), (1970, 1, 1, 0));
        // 2020-07-11T22:37:45Z
        let u = t(1_594_507_065);
        assert_eq!((u.year, u.month, u.day), (2020, 7, 11));
        assert_eq!((u.hour, u.minute, u.second), (22, 37, 45));
        // 2024-02-29T23:59:59Z (leap day)
        let u = t(1_709_251_199);
        assert_eq!((u.year, u.month, u.day, u.hour), (2024, 2, 29, 23));
    }

    #[test]
    fn fixed_rounds_and_never_writes_negative_zero() {
        let mut v = bytes::BytesMut::new();
        let mut w = SentenceWriter::new(&mut v, b"GP", b"XXX");
        w.fixed(Some(-0.0004), 3)
            .fixed(Some(-21.35), 1)
            .rounded(Some(7.0), 3)
            .fixed(None, 2)
            .fixed(Some(f64::NAN), 2);
        w.finish();
        assert!(v.starts_with(b"$GPXXX,0.000,-21.4,007,,*"), "{v:?}");
        let body = &v[1..v.len() - 5];
        assert_eq!(
            &v[v.len() - 5..v.len() - 2],
            format!("*{:02X}", checksum(body)).as_bytes()
        );
    }

    #[test]
    fn coordinate_minutes_carry_into_degrees() {
        let mut v = Vec::new();
        let mut w = SentenceWriter::new(&mut v, b"GP", b"GLL");
        w.latitude(Some(44.999_999_999_9), 5);
        w.longitude(Some(-0.5), 7);
        w.finish();
        assert!(v.starts_with(b"$GPGLL,4500.00000,N,00030.0000000,W*"));
        assert_eq!(quantize_coordinate(44.999_999_999_9, 5), 45.0);
    }
}
