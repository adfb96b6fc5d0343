//! Parsers of the sentences in the dispatch table. Each reads its fields
//! into a small value ([`Update`]) without touching any state, so a sentence
//! with one bad field changes nothing.

use super::field::{self, Date, FieldResult, Malformed, TimeOfDay};
use super::sentence::Sentence;

/// Knots to metres per second (1852 m / 3600 s).
pub(crate) const KNOTS_TO_MPS: f64 = 1852.0 / 3600.0;

/// GPS Fix Data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gga {
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) lat: Option<f64>,
    pub(crate) lon: Option<f64>,
    pub(crate) quality: Option<u32>,
    pub(crate) sats_used: Option<u32>,
    pub(crate) hdop: Option<f64>,
    pub(crate) alt_msl: Option<f64>,
    pub(crate) geoid_sep: Option<f64>,
}

/// Recommended Minimum data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rmc {
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) status: Option<u8>,
    pub(crate) lat: Option<f64>,
    pub(crate) lon: Option<f64>,
    pub(crate) speed_knots: Option<f64>,
    pub(crate) course: Option<f64>,
    pub(crate) date: Option<Date>,
    pub(crate) mode: Option<u8>,
    /// Magnetic variation, degrees, east positive.
    pub(crate) magvar: Option<f64>,
}

/// Most satellite ids a GSA may list (the standard has 12 slots).
pub(crate) const GSA_SLOTS: usize = 12;

/// DOP and active satellites.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gsa {
    pub(crate) mode: Option<u32>,
    pub(crate) prns: [u32; GSA_SLOTS],
    pub(crate) count: usize,
    pub(crate) pdop: Option<f64>,
    pub(crate) hdop: Option<f64>,
    pub(crate) vdop: Option<f64>,
    /// NMEA 4.10 GNSS system ID (1 GPS, 2 GLONASS, 3 Galileo, 4 BeiDou,
    /// 5 QZSS, 6 NavIC).
    pub(crate) system: Option<u32>,
}

/// One satellite of a GSV sentence.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GsvSat {
    pub(crate) prn: u32,
    pub(crate) elevation: Option<f64>,
    pub(crate) azimuth: Option<f64>,
    pub(crate) snr: Option<f64>,
}

/// Satellites in view (one sentence of a set).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gsv {
    pub(crate) total_msgs: u32,
    pub(crate) msg_num: u32,
    pub(crate) sats: [GsvSat; 4],
    pub(crate) count: usize,
    /// NMEA 4.10 signal ID (last field), when sent.
    pub(crate) signal: Option<u32>,
}

/// Track and ground speed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Vtg {
    pub(crate) course: Option<f64>,
    pub(crate) course_magnetic: Option<f64>,
    pub(crate) speed_mps: Option<f64>,
    pub(crate) mode: Option<u8>,
}

/// Geographic position.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gll {
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) lat: Option<f64>,
    pub(crate) lon: Option<f64>,
    pub(crate) status: Option<u8>,
    pub(crate) mode: Option<u8>,
}

/// Pseudorange error statistics.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gst {
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) rms: Option<f64>,
    pub(crate) major: Option<f64>,
    pub(crate) minor: Option<f64>,
    pub(crate) orient: Option<f64>,
    pub(crate) sd_lat: Option<f64>,
    pub(crate) sd_lon: Option<f64>,
    pub(crate) sd_alt: Option<f64>,
}

/// The receiver's expected position errors (RAIM fault detection).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gbs {
    /// The time of the fix the errors are of.
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) err_lat: Option<f64>,
    pub(crate) err_lon: Option<f64>,
    pub(crate) err_alt: Option<f64>,
}

/// Time and date.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Zda {
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) date: Option<Date>,
}

/// GNSS fix data (multi-constellation GGA).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gns {
    pub(crate) time: Option<TimeOfDay>,
    pub(crate) lat: Option<f64>,
    pub(crate) lon: Option<f64>,
    /// The most significant mode indicator over all constellations.
    pub(crate) mode: Option<u8>,
    /// The first mode indicator (GPS's), which gpsd reads alone.
    pub(crate) lead_mode: Option<u8>,
    /// NMEA 4.10 navigation status (`S`afe, `C`aution, `U`nsafe, `V`
    /// not valid), when sent.
    pub(crate) nav_status: Option<u8>,
    pub(crate) sats_used: Option<u32>,
    pub(crate) hdop: Option<f64>,
    pub(crate) alt_msl: Option<f64>,
    pub(crate) geoid_sep: Option<f64>,
}

/// A parsed sentence of the dispatch table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Update {
    Gga(Gga),
    Rmc(Rmc),
    Gsa(Gsa),
    Gsv(Gsv),
    Vtg(Vtg),
    Gll(Gll),
    Gst(Gst),
    Gbs(Gbs),
    Zda(Zda),
    Gns(Gns),
}

impl Update {
    /// `None` for sentences that carry no time of day (GSA, GSV, VTG);
    /// `Some(None)` for a time field left empty (no fix yet).
    pub(crate) fn time(&self) -> Option<Option<TimeOfDay>> {
        match self {
            Update::Gga(g) => Some(g.time),
            Update::Rmc(r) => Some(r.time),
            Update::Gll(g) => Some(g.time),
            Update::Gns(g) => Some(g.time),
            Update::Zda(z) => Some(z.time),
            // GST's time is optional in practice; without it GST is a
            // time-less sentence of the current cycle.
            Update::Gst(g) => g.time.map(Some),
            // GBS names the time of the fix it is about, which the cycle
            // checks; it never starts or ends a cycle by its time.
            Update::Gsa(_) | Update::Gsv(_) | Update::Vtg(_) | Update::Gbs(_) => None,
        }
    }

    /// The formatter of this sentence (`"GGA"`).
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            Update::Gga(_) => "GGA",
            Update::Rmc(_) => "RMC",
            Update::Gsa(_) => "GSA",
            Update::Gsv(_) => "GSV",
            Update::Vtg(_) => "VTG",
            Update::Gll(_) => "GLL",
            Update::Gst(_) => "GST",
            Update::Gbs(_) => "GBS",
            Update::Zda(_) => "ZDA",
            Update::Gns(_) => "GNS",
        }
    }
}

fn lat(s: &Sentence<'_>, i: usize) -> FieldResult<f64> {
    field::coordinate(s.get(i), s.get(i + 1), 90.0)
}

fn lon(s: &Sentence<'_>, i: usize) -> FieldResult<f64> {
    field::coordinate(s.get(i), s.get(i + 1), 180.0)
}

/// A dilution of precision; 0 (sent by some receivers without a solution)
/// is not a real DOP and reads as absent.
fn dop(s: &str) -> FieldResult<f64> {
    Ok(field::number(s)?.filter(|d| *d > 0.0))
}

/// `$--GGA,time,lat,N,lon,E,quality,sats,hdop,alt,M,sep,M,age,station`
pub(crate) fn gga(s: &Sentence<'_>) -> Result<Update, Malformed> {
    Ok(Update::Gga(Gga {
        time: field::time_of_day(s.get(0))?,
        lat: lat(s, 1)?,
        lon: lon(s, 3)?,
        quality: field::unsigned(s.get(5))?,
        sats_used: field::unsigned(s.get(6))?,
        hdop: dop(s.get(7))?,
        alt_msl: field::number(s.get(8))?,
        geoid_sep: field::number(s.get(10))?,
    }))
}

/// `$--RMC,time,status,lat,N,lon,E,knots,course,ddmmyy,magvar,E,mode`
pub(crate) fn rmc(s: &Sentence<'_>) -> Result<Update, Malformed> {
    Ok(Update::Rmc(Rmc {
        time: field::time_of_day(s.get(0))?,
        status: field::flag(s.get(1))?,
        lat: lat(s, 2)?,
        lon: lon(s, 4)?,
        speed_knots: field::number(s.get(6))?,
        course: field::number(s.get(7))?,
        // Receivers with a week-rollover bug send impossible dates (Telit
        // HE910 in April 2019: "2208-1"); the rest of the sentence is good,
        // so only the date is dropped.
        date: field::date_ddmmyy(s.get(8)).ok().flatten(),
        mode: field::flag(s.get(11))?,
        magvar: magvar(s.get(9), s.get(10))?,
    }))
}

/// RMC's magnetic variation and its `E`/`W`, east positive; a value
/// without a direction reads as absent.
fn magvar(value: &str, dir: &str) -> FieldResult<f64> {
    let Some(v) = field::number(value)? else {
        return Ok(None);
    };
    match dir {
        "E" => Ok(Some(v)),
        "W" => Ok(Some(-v)),
        "" => Ok(None),
        _ => Err(Malformed),
    }
}

/// `$--GSA,A,mode,prn x12,pdop,hdop,vdop[,system]`
pub(crate) fn gsa(s: &Sentence<'_>) -> Result<Update, Malformed> {
    let mut g = Gsa {
        mode: field::unsigned(s.get(1))?,
        pdop: dop(s.get(14))?,
        hdop: dop(s.get(15))?,
        vdop: dop(s.get(16))?,
        // Some receivers put other things here (a float on SiRF BDGSA):
        // only a plain 1..=6 is a system ID.
        system: field::unsigned(s.get(17))
            .ok()
            .flatten()
            .filter(|v| (1..=6).contains(v)),
        ..Gsa::default()
    };
    for i in 2..2 + GSA_SLOTS {
        if let Some(prn) = field::unsigned(s.get(i))? {
            if let Some(slot) = g.prns.get_mut(g.count).filter(|_| prn != 0) {
                *slot = prn;
                g.count += 1;
            }
        }
    }
    Ok(Update::Gsa(g))
}

/// `$--GSV,msgs,msg,in_view,{prn,elev,az,snr} x1..4[,signal]`
pub(crate) fn gsv(s: &Sentence<'_>) -> Result<Update, Malformed> {
    let total_msgs = field::unsigned(s.get(0))?.ok_or(Malformed)?;
    let msg_num = field::unsigned(s.get(1))?.ok_or(Malformed)?;
    // Two-digit fields: more than 99 sentences is garbage (and would let a
    // set grow without bound).
    if msg_num == 0 || msg_num > total_msgs || total_msgs > 99 {
        return Err(Malformed);
    }
    let rest = s.len() - 3;
    // A field left over after whole groups of four is the NMEA 4.10 signal
    // ID (one hex digit).
    let has_signal = rest % 4 == 1;
    let signal = if has_signal {
        let f = s.get(s.len() - 1);
        match f.len() {
            0 => None,
            1 => Some(u32::from_str_radix(f, 16).map_err(|_| Malformed)?),
            _ => return Err(Malformed),
        }
    } else {
        None
    };
    let groups = (rest - usize::from(has_signal)).div_ceil(4).min(4);
    // "Satellites in view" is checked but not used: with signal IDs it
    // counts a satellite once per signal (see `satellites_visible`).
    field::unsigned(s.get(2))?;
    let mut g = Gsv {
        total_msgs,
        msg_num,
        signal,
        ..Gsv::default()
    };
    for k in 0..groups {
        let base = 3 + 4 * k;
        let Some(prn) = field::unsigned(s.get(base))? else {
            continue;
        };
        if prn == 0 {
            continue;
        }
        let sat = GsvSat {
            prn,
            elevation: field::number(s.get(base + 1))?,
            azimuth: field::number(s.get(base + 2))?,
            snr: field::number(s.get(base + 3))?,
        };
        if let Some(slot) = g.sats.get_mut(g.count) {
            *slot = sat;
            g.count += 1;
        }
    }
    Ok(Update::Gsv(g))
}

/// `$--VTG,course,T,course_m,M,knots,N,kmh,K[,mode]`
pub(crate) fn vtg(s: &Sentence<'_>) -> Result<Update, Malformed> {
    let knots = field::number(s.get(4))?;
    let kmh = field::number(s.get(6))?;
    Ok(Update::Vtg(Vtg {
        course: field::number(s.get(0))?,
        course_magnetic: field::number(s.get(2))?,
        speed_mps: knots.map(|k| k * KNOTS_TO_MPS).or(kmh.map(|k| k / 3.6)),
        mode: field::flag(s.get(8))?,
    }))
}

/// `$--GLL,lat,N,lon,E[,time,status[,mode]]`
pub(crate) fn gll(s: &Sentence<'_>) -> Result<Update, Malformed> {
    Ok(Update::Gll(Gll {
        lat: lat(s, 0)?,
        lon: lon(s, 2)?,
        time: field::time_of_day(s.get(4))?,
        status: field::flag(s.get(5))?,
        mode: field::flag(s.get(6))?,
    }))
}

/// `$--GST,time,rms,major,minor,orient,sd_lat,sd_lon,sd_alt`
pub(crate) fn gst(s: &Sentence<'_>) -> Result<Update, Malformed> {
    Ok(Update::Gst(Gst {
        time: field::time_of_day(s.get(0))?,
        rms: field::number(s.get(1))?,
        major: field::number(s.get(2))?,
        minor: field::number(s.get(3))?,
        orient: field::number(s.get(4))?,
        sd_lat: field::number(s.get(5))?,
        sd_lon: field::number(s.get(6))?,
        sd_alt: field::number(s.get(7))?,
    }))
}

/// `$--GBS,time,err_lat,err_lon,err_alt,svid,prob,bias,sd_bias[,system,signal]`
pub(crate) fn gbs(s: &Sentence<'_>) -> Result<Update, Malformed> {
    Ok(Update::Gbs(Gbs {
        time: field::time_of_day(s.get(0))?,
        err_lat: field::number(s.get(1))?,
        err_lon: field::number(s.get(2))?,
        err_alt: field::number(s.get(3))?,
    }))
}

/// `$--ZDA,time,dd,mm,yyyy,tz_h,tz_m`
pub(crate) fn zda(s: &Sentence<'_>) -> Result<Update, Malformed> {
    let day = field::unsigned(s.get(1))?;
    let month = field::unsigned(s.get(2))?;
    let year = field::unsigned(s.get(3))?;
    let date = match (year, month, day) {
        (Some(y), Some(m), Some(d)) => field::date(i32::try_from(y).map_err(|_| Malformed)?, m, d)?,
        _ => None,
    };
    Ok(Update::Zda(Zda {
        time: field::time_of_day(s.get(0))?,
        date,
    }))
}

/// `$--GNS,time,lat,N,lon,E,modes,sats,hdop,alt,sep,age,station[,status]`
pub(crate) fn gns(s: &Sentence<'_>) -> Result<Update, Malformed> {
    let modes = s.get(5);
    if !modes.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Malformed);
    }
    // The best mode over constellations decides: any real fix beats 'N'.
    let mode = modes
        .bytes()
        .filter(|&m| m != b'N')
        .min_by_key(|&m| mode_rank(m))
        .or_else(|| modes.bytes().next());
    Ok(Update::Gns(Gns {
        time: field::time_of_day(s.get(0))?,
        lat: lat(s, 1)?,
        lon: lon(s, 3)?,
        mode,
        lead_mode: modes.bytes().next(),
        // Some receivers put other things here: only a letter is a status.
        nav_status: s.get(12).bytes().next().filter(u8::is_ascii_uppercase),
        sats_used: field::unsigned(s.get(6))?,
        hdop: dop(s.get(7))?,
        alt_msl: field::number(s.get(8))?,
        geoid_sep: field::number(s.get(9))?,
    }))
}

/// Lower is better when GNS reports one mode letter per constellation.
fn mode_rank(m: u8) -> u8 {
    match m {
        b'R' => 0,
        b'F' => 1,
        b'P' => 2,
        b'D' => 3,
        b'A' => 4,
        b'E' => 5,
        b'M' => 6,
        b'S' => 7,
        _ => 8,
    }
}
