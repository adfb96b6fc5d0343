//! Builders of the sentences of a receiver cycle from a `GpsFix`.
//!
//! Each builder appends complete sentences to `out`; absent values become
//! empty fields, as receivers send them.

use bytes::BufMut;
use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix, SatelliteInfo};

use super::{constellation_talker, system_id, NmeaStyle, SentenceWriter, Utc};

/// Knots per metre per second.
const KNOTS_PER_MPS: f64 = 3600.0 / 1852.0;
/// Kilometres per hour per metre per second.
const KMH_PER_MPS: f64 = 3.6;

/// The pseudo-range error statistics of a GST sentence (metres, degrees).
/// `GpsFix` only keeps their horizontal and vertical summary, so a GST
/// builder needs them separately.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GstErrors {
    /// RMS of the standard deviations of the ranges (field 2).
    pub rms: Option<f64>,
    /// Semi-major axis of the error ellipse, metres (field 3).
    pub major_m: Option<f64>,
    /// Semi-minor axis of the error ellipse, metres (field 4).
    pub minor_m: Option<f64>,
    /// Orientation of the semi-major axis, degrees from true north (field 5).
    pub orientation_deg: Option<f64>,
    /// Standard deviation of latitude, metres (field 6).
    pub lat_sd_m: Option<f64>,
    /// Standard deviation of longitude, metres (field 7).
    pub lon_sd_m: Option<f64>,
    /// Standard deviation of altitude, metres (field 8).
    pub alt_sd_m: Option<f64>,
}

/// RMC: time, status, position, speed (knots), course, date, mode.
pub fn rmc(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix) {
    let mut w = SentenceWriter::new(out, &style.talker, b"RMC");
    w.time(fix.time.as_ref(), style.time_decimals)
        .field(if has_fix(fix) { b"A" } else { b"V" })
        .latitude(fix.latitude_deg, style.latlon_decimals)
        .longitude(fix.longitude_deg, style.latlon_decimals)
        .fixed(
            fix.speed_mps.map(|v| v * KNOTS_PER_MPS),
            style.speed_decimals,
        )
        .fixed(fix.course_deg, style.course_decimals);
    match fix.time.as_ref().map(Utc::from_timestamp) {
        Some(u) => {
            let date = u64::from(u.day) * 10_000
                + u64::from(u.month) * 100
                + u.year.rem_euclid(100) as u64;
            w.uint(date, 6)
        }
        None => w.empty(),
    };
    w.empty().empty().field(&[mode_indicator(fix)]);
    if style.nmea_4_10 {
        w.field(b"V");
    }
    w.finish();
}

/// VTG: course over ground (true and magnetic), speed in knots and km/h,
/// mode.
pub fn vtg(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix) {
    let mut w = SentenceWriter::new(out, &style.talker, b"VTG");
    w.fixed(fix.course_deg, style.course_decimals)
        .field(b"T")
        .fixed(fix.magnetic_course_deg, style.course_decimals)
        .field(b"M")
        .fixed(
            fix.speed_mps.map(|v| v * KNOTS_PER_MPS),
            style.speed_decimals,
        )
        .field(b"N")
        .fixed(fix.speed_mps.map(|v| v * KMH_PER_MPS), style.speed_decimals)
        .field(b"K")
        .field(&[mode_indicator(fix)]);
    w.finish();
}

/// GGA: time, position, quality, satellites used, HDOP, altitude, geoid
/// separation (differential age and station left empty).
pub fn gga(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix) {
    let mut w = SentenceWriter::new(out, &style.talker, b"GGA");
    w.time(fix.time.as_ref(), style.time_decimals)
        .latitude(fix.latitude_deg, style.latlon_decimals)
        .longitude(fix.longitude_deg, style.latlon_decimals)
        .field(&[gga_quality(fix.quality())]);
    match fix.satellites_used {
        Some(n) => w.uint(u64::from(n), 2),
        None => w.empty(),
    };
    w.fixed(fix.hdop, style.dop_decimals)
        .fixed(fix.altitude_msl_m, style.altitude_decimals)
        .field(b"M")
        .fixed(fix.geoid_separation_m, style.altitude_decimals)
        .field(b"M")
        .empty()
        .empty();
    w.finish();
}

/// GSA for one constellation: the satellites of `sky` with `used` set (at
/// most 12), mode, PDOP/HDOP/VDOP and, in NMEA 4.10 style, the system ID.
/// `None` lists the used satellites of every constellation.
pub fn gsa(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix, system: Option<Constellation>) {
    let mut w = SentenceWriter::new(out, &style.talker, b"GSA");
    let mode = match fix.mode() {
        FixMode::FixMode3d => b'3',
        FixMode::FixMode2d => b'2',
        FixMode::NoFix | FixMode::Unspecified => b'1',
    };
    w.field(b"A").field(&[mode]);
    let mut used = fix
        .sky
        .iter()
        .filter(|s| s.used && system.is_none_or(|c| same_system(s.constellation(), c)));
    for _ in 0..12 {
        match used.next() {
            Some(s) => w.uint(u64::from(s.prn), 2),
            None => w.empty(),
        };
    }
    w.fixed(fix.pdop, style.dop_decimals)
        .fixed(fix.hdop, style.dop_decimals)
        .fixed(fix.vdop, style.dop_decimals);
    if style.nmea_4_10 {
        match system.and_then(system_id) {
            Some(id) => w.uint(u64::from(id), 1),
            None => w.empty(),
        };
    }
    w.finish();
}

/// GSV for one constellation: the satellites of `sky` of that system, four
/// per sentence (one sentence with a count of 0 if there are none), with the
/// talker of the constellation and, in NMEA 4.10 style, the signal ID of the
/// first satellite (default 1).
pub fn gsv(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix, system: Constellation) {
    let in_system = |s: &&SatelliteInfo| same_system(s.constellation(), system);
    let count = fix.sky.iter().filter(in_system).count();
    let total = count.div_ceil(4).max(1);
    let signal = fix
        .sky
        .iter()
        .find(in_system)
        .and_then(|s| s.signal_id)
        .unwrap_or(1);
    let talker = constellation_talker(system);
    let mut sats = fix.sky.iter().filter(in_system);
    for n in 1..=total {
        let mut w = SentenceWriter::new(out, &talker, b"GSV");
        w.uint(total as u64, 1)
            .uint(n as u64, 1)
            .uint(count as u64, 2);
        for s in sats.by_ref().take(4) {
            w.uint(u64::from(s.prn), 2)
                .rounded(s.elevation_deg, 2)
                .rounded(s.azimuth_deg, 3)
                .rounded(s.snr_dbhz, 2);
        }
        if style.nmea_4_10 {
            w.uint(u64::from(signal), 1);
        }
        w.finish();
    }
}

/// GLL: position, time, status, mode.
pub fn gll(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix) {
    let mut w = SentenceWriter::new(out, &style.talker, b"GLL");
    w.latitude(fix.latitude_deg, style.latlon_decimals)
        .longitude(fix.longitude_deg, style.latlon_decimals)
        .time(fix.time.as_ref(), style.time_decimals)
        .field(if has_fix(fix) { b"A" } else { b"V" })
        .field(&[mode_indicator(fix)]);
    w.finish();
}

/// GST: time and the pseudo-range error statistics.
pub fn gst(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix, e: &GstErrors) {
    let d = style.error_decimals;
    let mut w = SentenceWriter::new(out, &style.talker, b"GST");
    w.time(fix.time.as_ref(), style.time_decimals)
        .fixed(e.rms, d)
        .fixed(e.major_m, d)
        .fixed(e.minor_m, d)
        .fixed(e.orientation_deg, d)
        .fixed(e.lat_sd_m, d)
        .fixed(e.lon_sd_m, d)
        .fixed(e.alt_sd_m, d);
    w.finish();
}

/// ZDA: time, day, month, year, local zone 00:00.
pub fn zda(out: &mut impl BufMut, style: &NmeaStyle, fix: &GpsFix) {
    let mut w = SentenceWriter::new(out, &style.talker, b"ZDA");
    w.time(fix.time.as_ref(), style.time_decimals);
    match fix.time.as_ref().map(Utc::from_timestamp) {
        Some(u) => w
            .uint(u64::from(u.day), 2)
            .uint(u64::from(u.month), 2)
            .uint(u.year.max(0) as u64, 4),
        None => w.empty().empty().empty(),
    };
    w.field(b"00").field(b"00");
    w.finish();
}

fn has_fix(fix: &GpsFix) -> bool {
    matches!(fix.mode(), FixMode::FixMode2d | FixMode::FixMode3d)
        && fix.latitude_deg.is_some()
        && fix.longitude_deg.is_some()
}

fn same_system(a: Constellation, b: Constellation) -> bool {
    system_id(a).is_some() && system_id(a) == system_id(b)
}

/// The NMEA 2.3+ mode indicator (RMC, VTG, GLL, GNS) of a fix quality.
fn mode_indicator(fix: &GpsFix) -> u8 {
    if !has_fix(fix) {
        return b'N';
    }
    match fix.quality() {
        FixQuality::Dgps => b'D',
        FixQuality::Pps => b'P',
        FixQuality::RtkFixed => b'R',
        FixQuality::RtkFloat => b'F',
        FixQuality::DeadReckoning => b'E',
        FixQuality::Manual => b'M',
        FixQuality::Simulation => b'S',
        FixQuality::Invalid => b'N',
        FixQuality::Gps | FixQuality::Unspecified => b'A',
    }
}

/// The GGA quality digit of a fix quality.
fn gga_quality(q: FixQuality) -> u8 {
    match q {
        FixQuality::Unspecified | FixQuality::Invalid => b'0',
        FixQuality::Gps => b'1',
        FixQuality::Dgps => b'2',
        FixQuality::Pps => b'3',
        FixQuality::RtkFixed => b'4',
        FixQuality::RtkFloat => b'5',
        FixQuality::DeadReckoning => b'6',
        FixQuality::Manual => b'7',
        FixQuality::Simulation => b'8',
    }
}
