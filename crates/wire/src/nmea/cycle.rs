//! One receiver cycle being assembled: the merged content of its sentences,
//! and how it becomes a [`GpsFix`].

use dronetel_proto::v1::{FixMode, FixQuality, GpsFix, SatelliteInfo};

use super::field::{Date, TimeOfDay};
use super::rollover::{Correction, TimeEvidence};
use super::satellites::{CompletedSet, UsedList};
use super::update::{Update, KNOTS_TO_MPS};

/// Most sky entries one fix carries (satellites × signals; today's
/// four-constellation dual-band receivers report about 100).
const MAX_SKY: usize = 512;

/// The merged sentences of one cycle. Every value stays `None` unless a
/// sentence of this cycle reported it.
#[derive(Debug, Default)]
pub(crate) struct Cycle {
    /// Time of day of the cycle (the first non-empty time seen in it).
    pub(crate) tod: Option<TimeOfDay>,
    /// A sentence that carries a time field (even an empty one) was applied:
    /// the cycle is more than a few leading time-less sentences.
    pub(crate) timed: bool,
    /// Date from RMC or ZDA in this cycle.
    pub(crate) date: Option<Date>,
    talker: Option<[u8; 2]>,
    position_talker: Option<[u8; 2]>,
    lat: Option<f64>,
    lon: Option<f64>,
    alt_msl: Option<f64>,
    geoid_sep: Option<f64>,
    speed_rmc: Option<f64>,
    speed_vtg: Option<f64>,
    course_rmc: Option<f64>,
    course_vtg: Option<f64>,
    course_magnetic: Option<f64>,
    /// GBS's expected errors (latitude, longitude, altitude) and the time
    /// of the fix they are of.
    gbs: Option<(Option<TimeOfDay>, [Option<f64>; 3])>,
    hdop_gsa: Option<f64>,
    hdop_fix: Option<f64>,
    pdop: Option<f64>,
    vdop: Option<f64>,
    sd_lat: Option<f64>,
    sd_lon: Option<f64>,
    sd_alt: Option<f64>,
    range_rms: Option<f64>,
    ellipse_major: Option<f64>,
    ellipse_minor: Option<f64>,
    ellipse_orient: Option<f64>,
    magvar: Option<f64>,
    gga_quality: Option<u32>,
    mode_indicator: Option<u8>,
    /// A sentence said the position is valid (RMC/GLL 'A', GGA quality > 0,
    /// a GNS mode other than 'N').
    valid: bool,
    /// A sentence said there is no fix (RMC/GLL 'V', GGA quality 0, GNS 'N').
    invalid: bool,
    sats_used: Option<u32>,
    used: UsedList,
    gsa_seen: bool,
    sky: Vec<SatelliteInfo>,
    gsv_seen: bool,
}

/// What the epoch assembler remembers between cycles to fill a fix.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    /// Corrected day number (days since 1970-01-01) to use when the cycle
    /// has no date of its own.
    pub(crate) day: Option<i64>,
    /// Rollover floor from the options.
    pub(crate) floor: Option<(i32, u32, u32)>,
    /// Outside evidence of today's date, if any (see [`super::rollover`]).
    pub(crate) evidence: Option<TimeEvidence>,
    /// gpsd's mode of the cycle (0 not seen, 1 no fix, 2, 3), from
    /// [`super::mode::ModeTracker`].
    pub(crate) mode: u8,
}

fn talker_bytes(talker: &str) -> [u8; 2] {
    talker.as_bytes().try_into().unwrap_or([b'?', b'?'])
}

impl Cycle {
    /// Merges one parsed sentence into the cycle.
    pub(crate) fn apply(&mut self, talker: &str, u: &Update) {
        let t = talker_bytes(talker);
        self.talker.get_or_insert(t);
        if let Some(time) = u.time() {
            self.timed = true;
            if self.tod.is_none() {
                self.tod = time;
            }
        }
        match u {
            Update::Gga(g) => {
                self.position(t, g.lat, g.lon);
                self.alt_msl = g.alt_msl.or(self.alt_msl);
                self.geoid_sep = g.geoid_sep.or(self.geoid_sep);
                self.hdop_fix = g.hdop.or(self.hdop_fix);
                self.sats_used = g.sats_used.or(self.sats_used);
                if let Some(q) = g.quality {
                    self.gga_quality = Some(q);
                    self.validity(q > 0);
                }
            }
            Update::Rmc(r) => {
                self.position(t, r.lat, r.lon);
                self.speed_rmc = r.speed_knots.map(|k| k * KNOTS_TO_MPS).or(self.speed_rmc);
                self.course_rmc = r.course.or(self.course_rmc);
                self.magvar = r.magvar.or(self.magvar);
                self.date = r.date.or(self.date);
                self.status(r.status);
                self.indicator(r.mode);
            }
            Update::Gsa(g) => {
                self.gsa_seen = true;
                self.pdop = g.pdop.or(self.pdop);
                self.hdop_gsa = g.hdop.or(self.hdop_gsa);
                self.vdop = g.vdop.or(self.vdop);
                self.used.add(talker, g);
            }
            // GSV goes through the set assembler: see `add_set`.
            Update::Gsv(_) => {}
            Update::Vtg(v) => {
                self.speed_vtg = v.speed_mps.or(self.speed_vtg);
                self.course_vtg = v.course.or(self.course_vtg);
                self.course_magnetic = v.course_magnetic.or(self.course_magnetic);
                self.indicator(v.mode);
            }
            Update::Gll(g) => {
                self.position(t, g.lat, g.lon);
                self.status(g.status);
                self.indicator(g.mode);
            }
            Update::Gst(g) => {
                self.sd_lat = g.sd_lat.or(self.sd_lat);
                self.sd_lon = g.sd_lon.or(self.sd_lon);
                self.sd_alt = g.sd_alt.or(self.sd_alt);
                self.range_rms = g.rms.or(self.range_rms);
                self.ellipse_major = g.major.or(self.ellipse_major);
                self.ellipse_minor = g.minor.or(self.ellipse_minor);
                self.ellipse_orient = g.orient.or(self.ellipse_orient);
            }
            Update::Gbs(g) => self.gbs = Some((g.time, [g.err_lat, g.err_lon, g.err_alt])),
            Update::Zda(z) => self.date = z.date.or(self.date),
            Update::Gns(g) => {
                self.position(t, g.lat, g.lon);
                self.alt_msl = g.alt_msl.or(self.alt_msl);
                self.geoid_sep = g.geoid_sep.or(self.geoid_sep);
                self.hdop_fix = self.hdop_fix.or(g.hdop);
                self.sats_used = self.sats_used.or(g.sats_used);
                self.indicator(g.mode);
            }
        }
    }

    /// Adds a completed GSV set to this cycle's sky. The sky is capped at
    /// [`MAX_SKY`] entries, so a receiver sending GSV without ever sending a
    /// timed sentence cannot grow it without bound.
    pub(crate) fn add_set(&mut self, set: CompletedSet) {
        self.gsv_seen = true;
        let room = MAX_SKY.saturating_sub(self.sky.len());
        if self.sky.is_empty() {
            // The cycle's first set (most receivers' only one) becomes the
            // sky as it is: no second buffer, no copy.
            self.sky = set.sats;
            self.sky.truncate(room);
        } else {
            self.sky.extend(set.sats.into_iter().take(room));
        }
    }

    fn position(&mut self, talker: [u8; 2], lat: Option<f64>, lon: Option<f64>) {
        if let (Some(lat), Some(lon)) = (lat, lon) {
            self.lat = Some(lat);
            self.lon = Some(lon);
            self.position_talker.get_or_insert(talker);
        }
    }

    fn validity(&mut self, valid: bool) {
        if valid {
            self.valid = true;
        } else {
            self.invalid = true;
        }
    }

    fn status(&mut self, status: Option<u8>) {
        match status {
            Some(b'A') => self.valid = true,
            Some(b'V') => self.invalid = true,
            _ => {}
        }
    }

    fn indicator(&mut self, mode: Option<u8>) {
        if let Some(m) = mode {
            self.mode_indicator.get_or_insert(m);
            self.validity(m != b'N');
        }
    }

    /// Builds the fix. `ctx` supplies the remembered date and the mode; the
    /// caller fills `time` (it needs the date logic), `climb_mps` and
    /// `cycle_end`. Returns the fix, its day number and how its date was
    /// corrected (`None` when the cycle had no date of its own and the
    /// remembered day stands).
    pub(crate) fn build(self, ctx: Context) -> (GpsFix, Option<i64>, Option<Correction>) {
        let no_fix = self.invalid && !self.valid;
        let mode = match ctx.mode {
            1 => FixMode::NoFix,
            2 => FixMode::FixMode2d,
            3 => FixMode::FixMode3d,
            _ => FixMode::Unspecified,
        };
        let quality = match self.gga_quality {
            Some(q) => quality_from_gga(q),
            None => match self.mode_indicator {
                Some(m) => quality_from_indicator(m),
                None if no_fix => FixQuality::Invalid,
                None => FixQuality::Unspecified,
            },
        };
        let has_fix = matches!(mode, FixMode::FixMode2d | FixMode::FixMode3d);
        let keep = |v: Option<f64>| v.filter(|_| has_fix);
        // Some receivers report an altitude with a 2D fix (GSA mode 2 with 3
        // satellites); it is what the receiver sent, so it is kept.
        let alt_msl = keep(self.alt_msl);
        let geoid_sep = keep(self.geoid_sep);
        let mut sky = self.sky;
        for sat in &mut sky {
            sat.used = self.used.contains(sat);
        }
        let mut distinct: Vec<(i32, u32)> = sky.iter().map(|s| (s.constellation, s.prn)).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let (day, correction) = match self.date {
            Some(d) => {
                let (day, how) = super::rollover::corrected_day(d, ctx.floor, ctx.evidence);
                (Some(day), Some(how))
            }
            None => (ctx.day, None),
        };
        let h_err = match (self.sd_lat, self.sd_lon) {
            (Some(a), Some(b)) => Some((a * a + b * b).sqrt()),
            _ => None,
        };
        let talker = self.position_talker.or(self.talker).unwrap_or([b'?', b'?']);
        // GBS's errors are of the fix whose time it names: used when that
        // is this cycle's (the whole second, as gpsd checks it).
        const SECOND_NS: u64 = 1_000_000_000;
        let [err_lat, err_lon, err_alt] = match (self.gbs, self.tod) {
            (Some((Some(t), errs)), Some(tod)) if t / SECOND_NS == tod / SECOND_NS => errs,
            _ => [None; 3],
        };
        let fix = GpsFix {
            time: None,
            mode: mode as i32,
            quality: quality as i32,
            latitude_deg: keep(self.lat),
            longitude_deg: keep(self.lon),
            altitude_msl_m: alt_msl,
            altitude_hae_m: alt_msl.zip(geoid_sep).map(|(a, s)| a + s),
            geoid_separation_m: geoid_sep,
            speed_mps: keep(self.speed_rmc.or(self.speed_vtg)),
            course_deg: keep(self.course_rmc.or(self.course_vtg)),
            magnetic_course_deg: keep(self.course_magnetic),
            expected_latitude_error_m: keep(err_lat),
            expected_longitude_error_m: keep(err_lon),
            expected_altitude_error_m: keep(err_alt),
            climb_mps: None,
            hdop: self.hdop_gsa.or(self.hdop_fix),
            vdop: self.vdop,
            pdop: self.pdop,
            horizontal_error_m: keep(h_err),
            vertical_error_m: keep(self.sd_alt),
            // GST's statistics as sent (gpsd reports them without a fix too).
            range_rms_m: self.range_rms,
            error_ellipse_major_m: self.ellipse_major,
            error_ellipse_minor_m: self.ellipse_minor,
            error_ellipse_orientation_deg: self.ellipse_orient,
            latitude_error_m: self.sd_lat,
            longitude_error_m: self.sd_lon,
            magnetic_variation_deg: self.magvar,
            // GGA/GNS count, or the GSA list if longer: u-blox caps the GGA
            // count at 12 while its GSAs list every satellite used.
            satellites_used: match (self.sats_used, self.gsa_seen) {
                (Some(n), true) => Some(n.max(self.used.len() as u32)),
                (Some(n), false) => Some(n),
                (None, true) => Some(self.used.len() as u32),
                (None, false) => None,
            },
            // Distinct satellites, not GSV "in view" totals: with NMEA 4.10
            // signal IDs those count a satellite once per signal.
            satellites_visible: self.gsv_seen.then_some(distinct.len() as u32),
            sky,
            talker: String::from_utf8_lossy(&talker).into_owned(),
            cycle_end: String::new(),
            ..GpsFix::default()
        };
        (fix, day, correction)
    }
}

fn quality_from_gga(q: u32) -> FixQuality {
    match q {
        0 => FixQuality::Invalid,
        1 => FixQuality::Gps,
        2 => FixQuality::Dgps,
        3 => FixQuality::Pps,
        4 => FixQuality::RtkFixed,
        5 => FixQuality::RtkFloat,
        6 => FixQuality::DeadReckoning,
        7 => FixQuality::Manual,
        8 => FixQuality::Simulation,
        _ => FixQuality::Unspecified,
    }
}

fn quality_from_indicator(m: u8) -> FixQuality {
    match m {
        b'N' => FixQuality::Invalid,
        b'A' => FixQuality::Gps,
        b'D' => FixQuality::Dgps,
        b'P' => FixQuality::Pps,
        b'R' => FixQuality::RtkFixed,
        b'F' => FixQuality::RtkFloat,
        b'E' => FixQuality::DeadReckoning,
        b'M' => FixQuality::Manual,
        b'S' => FixQuality::Simulation,
        _ => FixQuality::Unspecified,
    }
}
