//! Epoch assembly: merges the UBX messages of one navigation epoch (same
//! `iTOW`) into one [`GpsFix`] and publishes it as soon as the epoch is
//! complete.
//!
//! # How the end of an epoch is found
//! - Receivers that send UBX-NAV-EOE (u-blox 8 and later, when enabled)
//!   say it: the fix is published at the EOE of its `iTOW`.
//! - Otherwise the last message of an epoch is *learned*, as the NMEA
//!   decoder learns its cycle ender: when a message with a new `iTOW`
//!   arrives, the message just before it closed the previous epoch and
//!   becomes an ender; from then on an epoch is published right after its
//!   ender. Until one is learned, an epoch is published when the next one
//!   begins, or by the idle-gap fallback ([`Epoch::flush_idle`]), which
//!   also teaches the ender.
//! - High-rate epochs (HNR-PVT between the 1 Hz navigation epochs of
//!   dead-reckoning receivers) never carry an EOE: they learn their ender
//!   like the rest, while epochs with navigation messages wait for their EOE
//!   once one has been seen.
//! - A message with the `iTOW` of the epoch just published by a learned
//!   ender means the ender fired early (receivers that add a message every
//!   few epochs, e.g. NAV-SVINFO): the ender is forgotten and the late
//!   message dropped. Only a message of the same kind is late: navigation
//!   messages after an HNR-only epoch of the same `iTOW` (or HNR-PVT after
//!   a navigation epoch) open their own epoch.
//!
//! # Time
//! The UTC time of a fix is, in this order: NAV-PVT's (or HNR-PVT's) UTC
//! date and time when both are flagged valid; NAV-TIMEUTC's when valid;
//! else GPS time from the week (NAV-SOL, NAV-TIMEGPS, or the last week seen)
//! and `iTOW` + `fTOW`, minus the leap seconds of the last valid NAV-TIMEGPS
//! (or the default, 18 s since 2017, until one arrives). The week number is
//! absolute, so no rollover correction is needed.

use std::collections::VecDeque;

use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix, SatelliteInfo};
use prost_types::Timestamp;
use tracing::debug;

use super::ecef::{self, Geodetic};
use super::message::{Msg, NavPvt, SatEntry, Sats};
use crate::calendar::{days_from_civil, GPS_EPOCH_UNIX, WEEK_SECS};

/// Most learned enders kept.
const MAX_ENDERS: usize = 8;

/// Most sky entries one fix carries.
const MAX_SKY: usize = 512;

/// Milliseconds in a GPS week.
const WEEK_MS: u32 = 604_800_000;

/// Which message a value came from; a higher rank wins within an epoch.
type Rank = u8;

/// The merged messages of one epoch. Every value stays `None` unless a
/// message of this epoch reported it.
#[derive(Debug, Default)]
struct Acc {
    /// A navigation-class message (not only HNR) is in the epoch.
    nav: bool,
    /// Rank, mode, quality, and the receiver's fix-OK flag.
    status: Option<(Rank, FixMode, FixQuality, bool)>,
    /// UTC (Unix seconds, nanoseconds) from PVT or TIMEUTC.
    utc: Option<(Rank, i64, i32)>,
    week: Option<i16>,
    ftow: Option<i32>,
    leap: Option<i8>,
    /// Position: lat, lon (degrees), height above ellipsoid, above MSL.
    llh: Option<(Rank, f64, f64, f64, Option<f64>)>,
    ecef_pos: Option<[f64; 3]>,
    ecef_vel: Option<[f64; 3]>,
    /// North, east, down (m/s), ground speed (m/s), course (degrees).
    vel: Option<(Rank, [f64; 3], f64, f64)>,
    h_acc: Option<(Rank, f64)>,
    v_acc: Option<(Rank, f64)>,
    s_acc: Option<(Rank, f64)>,
    head_acc: Option<f64>,
    p_acc: Option<f64>,
    hdop: Option<f64>,
    vdop: Option<f64>,
    pdop: Option<(Rank, f64)>,
    num_sv: Option<(Rank, u32)>,
    sky: Vec<SatelliteInfo>,
    sky_seen: bool,
}

/// Keeps `new` if nothing of a higher rank is there.
fn set<T>(slot: &mut Option<(Rank, T)>, rank: Rank, new: T) {
    if slot.as_ref().is_none_or(|(r, _)| *r <= rank) {
        *slot = Some((rank, new));
    }
}

/// Same for the wider tuples.
fn set_with<T>(slot: &mut Option<T>, rank: Rank, new: T, rank_of: fn(&T) -> Rank) {
    if slot.as_ref().is_none_or(|old| rank_of(old) <= rank) {
        *slot = Some(new);
    }
}

/// A dilution of precision in 0.01; 99.99 is u-blox's "unknown".
fn dop(v: u16) -> Option<f64> {
    (v > 0 && v < 9999).then(|| f64::from(v) / 100.0)
}

/// Fix dimension and quality of a u-blox fix type and flags.
fn fix_status(fix_type: u8, diff: bool, carr: u8) -> (FixMode, FixQuality) {
    let q = match carr {
        2 => FixQuality::RtkFixed,
        1 => FixQuality::RtkFloat,
        _ if diff => FixQuality::Dgps,
        _ => FixQuality::Gps,
    };
    match fix_type {
        0 => (FixMode::NoFix, FixQuality::Invalid),
        1 => (FixMode::FixMode2d, FixQuality::DeadReckoning),
        2 => (FixMode::FixMode2d, q),
        3 | 4 => (FixMode::FixMode3d, q),
        // Time only: a surveyed-in or configured fixed position.
        5 => (FixMode::FixMode3d, FixQuality::Manual),
        _ => (FixMode::Unspecified, FixQuality::Unspecified),
    }
}

/// Unix time of a UTC calendar date and time; `None` for impossible
/// fields.
fn unix(year: u16, month: u8, day: u8, h: u8, m: u8, s: u8, nano: i32) -> Option<(i64, i32)> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    if !(-1_000_000_000..=1_000_000_000).contains(&nano) {
        return None;
    }
    let days = days_from_civil(i64::from(year), u32::from(month), u32::from(day));
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    Some(normalize(secs, i64::from(nano)))
}

/// Seconds and a nanosecond offset of any sign to (seconds, 0..1e9).
fn normalize(secs: i64, nanos: i64) -> (i64, i32) {
    let s = secs + nanos.div_euclid(1_000_000_000);
    let n = nanos.rem_euclid(1_000_000_000);
    (s, i32::try_from(n).unwrap_or(0))
}

impl Acc {
    fn apply(&mut self, msg: &Msg<'_>) {
        match msg {
            Msg::Pvt(p) => {
                self.nav = true;
                self.pvt(p, 4);
            }
            Msg::HnrPvt(p) => self.pvt(p, 3),
            Msg::Sol(s) => {
                self.nav = true;
                set_with(
                    &mut self.status,
                    2,
                    {
                        let (m, q) = fix_status(s.gps_fix, s.flags & 0x02 != 0, 0);
                        (2, m, q, s.flags & 0x01 != 0)
                    },
                    |t| t.0,
                );
                if s.flags & 0x0c == 0x0c {
                    self.week = Some(s.week);
                    self.ftow = Some(s.ftow);
                }
                self.ecef_pos = Some(s.ecef.map(|c| f64::from(c) / 100.0));
                self.ecef_vel = Some(s.vel.map(|c| f64::from(c) / 100.0));
                self.p_acc = Some(f64::from(s.p_acc) / 100.0);
                set(&mut self.s_acc, 1, f64::from(s.s_acc) / 100.0);
                if let Some(d) = dop(s.p_dop) {
                    set(&mut self.pdop, 1, d);
                }
                set(&mut self.num_sv, 1, u32::from(s.num_sv));
            }
            Msg::PosLlh(p) | Msg::HpPosLlh(p) => {
                self.nav = true;
                let rank = if matches!(msg, Msg::HpPosLlh(_)) {
                    5
                } else {
                    2
                };
                if p.valid {
                    set_with(
                        &mut self.llh,
                        rank,
                        (rank, p.lat, p.lon, p.height, Some(p.h_msl)),
                        |t| t.0,
                    );
                    set(&mut self.h_acc, rank, p.h_acc);
                    set(&mut self.v_acc, rank, p.v_acc);
                }
            }
            Msg::PosEcef(e) => {
                self.nav = true;
                self.ecef_pos = Some(e.v.map(|c| f64::from(c) / 100.0));
                self.p_acc = Some(f64::from(e.acc) / 100.0);
            }
            Msg::VelEcef(e) => {
                self.nav = true;
                self.ecef_vel = Some(e.v.map(|c| f64::from(c) / 100.0));
                set(&mut self.s_acc, 1, f64::from(e.acc) / 100.0);
            }
            Msg::VelNed(v) => {
                self.nav = true;
                let ned = v.vel.map(|c| f64::from(c) / 100.0);
                set_with(
                    &mut self.vel,
                    2,
                    (
                        2,
                        ned,
                        f64::from(v.g_speed) / 100.0,
                        f64::from(v.heading) / 1e5,
                    ),
                    |t| t.0,
                );
                set(&mut self.s_acc, 2, f64::from(v.s_acc) / 100.0);
                self.head_acc = Some(f64::from(v.c_acc) / 1e5);
            }
            Msg::Status(s) => {
                self.nav = true;
                let (m, q) = fix_status(s.gps_fix, s.flags & 0x02 != 0, s.flags2 >> 6);
                set_with(&mut self.status, 1, (1, m, q, s.flags & 0x01 != 0), |t| t.0);
            }
            Msg::Dop(d) => {
                self.nav = true;
                self.hdop = dop(d.h_dop);
                self.vdop = dop(d.v_dop);
                if let Some(p) = dop(d.p_dop) {
                    set(&mut self.pdop, 2, p);
                }
            }
            Msg::TimeGps(t) => {
                self.nav = true;
                if t.valid & 0x03 == 0x03 {
                    self.week = Some(t.week);
                    self.ftow = Some(t.ftow);
                }
                if t.valid & 0x04 != 0 {
                    self.leap = Some(t.leap_s);
                }
            }
            Msg::TimeUtc(t) => {
                self.nav = true;
                if t.valid & 0x04 != 0 {
                    if let Some((s, n)) = unix(t.year, t.month, t.day, t.hour, t.min, t.sec, t.nano)
                    {
                        set_with(&mut self.utc, 1, (1, s, n), |t| t.0);
                    }
                }
            }
            Msg::Sat(s) | Msg::SvInfo(s) => {
                self.nav = true;
                self.sats(s);
            }
            Msg::Eoe(_) => {}
        }
    }

    fn pvt(&mut self, p: &NavPvt, rank: Rank) {
        let (m, q) = fix_status(p.fix_type, p.flags & 0x02 != 0, p.flags >> 6);
        set_with(
            &mut self.status,
            rank,
            (rank, m, q, p.flags & 0x01 != 0),
            |t| t.0,
        );
        if p.valid & 0x03 == 0x03 {
            if let Some((s, n)) = unix(p.year, p.month, p.day, p.hour, p.min, p.sec, p.nano) {
                set_with(&mut self.utc, rank, (rank, s, n), |t| t.0);
            }
        }
        set_with(
            &mut self.llh,
            rank,
            (
                rank,
                f64::from(p.lat) / 1e7,
                f64::from(p.lon) / 1e7,
                f64::from(p.height) / 1e3,
                Some(f64::from(p.h_msl) / 1e3),
            ),
            |t| t.0,
        );
        let ned = [p.vel_n, p.vel_e, p.vel_d].map(|v| f64::from(v) / 1000.0);
        set_with(
            &mut self.vel,
            rank,
            (
                rank,
                ned,
                f64::from(p.g_speed) / 1000.0,
                f64::from(p.head_mot) / 1e5,
            ),
            |t| t.0,
        );
        set(&mut self.h_acc, rank, f64::from(p.h_acc) / 1000.0);
        set(&mut self.v_acc, rank, f64::from(p.v_acc) / 1000.0);
        set(&mut self.s_acc, rank, f64::from(p.s_acc) / 1000.0);
        self.head_acc = Some(f64::from(p.head_acc) / 1e5);
        if let Some(d) = dop(p.p_dop) {
            set(&mut self.pdop, 1, d);
        }
        if rank == 4 {
            set(&mut self.num_sv, 2, u32::from(p.num_sv));
        }
    }

    fn sats(&mut self, s: &Sats<'_>) {
        // One sky per epoch: NAV-SAT and NAV-SVINFO in the same epoch
        // describe the same satellites; the later replaces the earlier.
        self.sky.clear();
        self.sky_seen = true;
        self.sky.reserve(s.len().min(MAX_SKY));
        for e in s.iter().take(MAX_SKY) {
            self.sky.push(sky_entry(&e));
        }
    }
}

/// A NAV-SAT satellite as a sky entry. GLONASS numbers are moved to the
/// NMEA range (65..96) so UBX and NMEA sky views of one receiver agree.
fn sky_entry(e: &SatEntry) -> SatelliteInfo {
    let constellation = match e.gnss_id {
        0 => Constellation::Gps,
        1 => Constellation::Sbas,
        2 => Constellation::Galileo,
        3 => Constellation::Beidou,
        5 => Constellation::Qzss,
        6 => Constellation::Glonass,
        7 => Constellation::Navic,
        _ => Constellation::Unspecified,
    };
    let prn = match constellation {
        Constellation::Glonass if e.sv_id <= 32 => u32::from(e.sv_id) + 64,
        _ => u32::from(e.sv_id),
    };
    let known = (-90..=90).contains(&e.elev);
    SatelliteInfo {
        constellation: constellation as i32,
        prn,
        elevation_deg: known.then_some(f64::from(e.elev)),
        azimuth_deg: (known && (0..360).contains(&e.azim)).then_some(f64::from(e.azim)),
        snr_dbhz: (e.cno > 0).then_some(f64::from(e.cno)),
        used: e.used(),
        signal_id: None,
    }
}

/// Whether a message belongs to the navigation epochs (everything but the
/// high-rate HNR-PVT).
fn is_nav(msg: &Msg<'_>) -> bool {
    !matches!(msg, Msg::HnrPvt(_))
}

/// The epoch assembler.
#[derive(Debug)]
pub(crate) struct Epoch {
    default_leap: i32,
    /// `iTOW` of the epoch being assembled.
    itow: Option<u32>,
    acc: Acc,
    last_key: Option<&'static str>,
    enders: Vec<&'static str>,
    /// NAV-EOE has been seen: navigation epochs end at their EOE.
    eoe: bool,
    /// `iTOW` of the epoch last published by a learned ender, whether it
    /// had navigation messages, and that ender.
    emitted: Option<u32>,
    emitted_nav: bool,
    fired: Option<&'static str>,
    /// Last valid leap seconds.
    leap: Option<i32>,
    /// Last week seen and the `iTOW` it was seen with.
    week: Option<(i64, u32)>,
}

impl Epoch {
    /// An assembler using `default_leap` seconds until the receiver tells.
    pub(crate) fn new(default_leap: i32) -> Self {
        Self {
            default_leap,
            itow: None,
            acc: Acc::default(),
            last_key: None,
            enders: Vec::new(),
            eoe: false,
            emitted: None,
            emitted_nav: false,
            fired: None,
            leap: None,
            week: None,
        }
    }

    /// Feeds one message (`name` is its table name); completed fixes are
    /// pushed to `out`.
    pub(crate) fn push(&mut self, name: &'static str, msg: &Msg<'_>, out: &mut VecDeque<GpsFix>) {
        let itow = msg.itow();
        if itow >= WEEK_MS {
            debug!(name, itow, "ubx iTOW out of range; skipped");
            return;
        }
        match self.itow {
            Some(cur) if cur != itow => self.boundary(out),
            // Late for the epoch just published, if of its kind: a
            // navigation message after an HNR-only epoch of the same time
            // (or the reverse) opens its own epoch instead.
            None if self.emitted == Some(itow) && is_nav(msg) == self.emitted_nav => {
                if !matches!(msg, Msg::Eoe(_)) {
                    self.late(name);
                }
                return;
            }
            _ => {}
        }
        if let Msg::Eoe(_) = msg {
            self.eoe = true;
            if self.itow == Some(itow) {
                self.emitted = None;
                self.fired = None;
                self.emit("NAV-EOE", out);
            }
            return;
        }
        self.itow = Some(itow);
        self.acc.apply(msg);
        self.last_key = Some(name);
        if self.ender_applies() && self.enders.contains(&name) {
            self.emitted = Some(itow);
            self.emitted_nav = self.acc.nav;
            self.fired = Some(name);
            self.emit(name, out);
        }
    }

    /// Learned enders close epochs without navigation messages always, and
    /// the others until the receiver has shown it sends NAV-EOE.
    fn ender_applies(&self) -> bool {
        !self.eoe || !self.acc.nav
    }

    /// An epoch has begun and is not published yet.
    pub(crate) fn in_epoch(&self) -> bool {
        self.itow.is_some()
    }

    /// The line went quiet: publish the epoch in progress and learn its last
    /// message as an ender.
    pub(crate) fn flush_idle(&mut self, out: &mut VecDeque<GpsFix>) {
        if let (Some(itow), Some(k)) = (self.itow, self.last_key) {
            if self.ender_applies() {
                self.learn(k);
            }
            self.emitted = Some(itow);
            self.emitted_nav = self.acc.nav;
            self.fired = Some(k);
            self.emit(k, out);
        }
    }

    /// End of stream: publish what is pending.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<GpsFix>) {
        if self.itow.is_some() {
            self.emit(self.last_key.unwrap_or(""), out);
        }
    }

    /// A message with a new `iTOW`: the epoch in progress is over.
    fn boundary(&mut self, out: &mut VecDeque<GpsFix>) {
        if let Some(k) = self.last_key {
            if self.ender_applies() {
                self.learn(k);
            }
            self.emit(k, out);
        }
        self.emitted = None;
        self.fired = None;
    }

    fn late(&mut self, name: &'static str) {
        if let Some(k) = self.fired.take() {
            debug!(
                ender = k,
                late = name,
                "ubx epoch ender fired early; unlearned"
            );
            self.enders.retain(|e| *e != k);
        }
    }

    fn learn(&mut self, k: &'static str) {
        if !self.enders.contains(&k) {
            if self.enders.len() >= MAX_ENDERS {
                self.enders.remove(0);
            }
            debug!(message = k, "ubx epoch ender learned");
            self.enders.push(k);
        }
    }

    /// Publishes the epoch in progress and starts a new one.
    fn emit(&mut self, end: &str, out: &mut VecDeque<GpsFix>) {
        let acc = std::mem::take(&mut self.acc);
        let Some(itow) = self.itow.take() else {
            return;
        };
        self.last_key = None;
        if let Some(l) = acc.leap {
            self.leap = Some(i32::from(l));
        }
        let week = match acc.week {
            Some(w) => Some(i64::from(w)),
            // The last week seen, plus one if the time of week wrapped.
            None => self.week.map(|(w, t)| {
                if itow < t && t - itow > WEEK_MS / 2 {
                    w + 1
                } else {
                    w
                }
            }),
        };
        if let Some(w) = week {
            self.week = Some((w, itow));
        }
        let leap = i64::from(self.leap.unwrap_or(self.default_leap));
        let time = match acc.utc {
            Some((_, s, n)) => Some((s, n)),
            None => week.map(|w| {
                let ms = i64::from(itow);
                normalize(
                    GPS_EPOCH_UNIX + w * WEEK_SECS + ms / 1000 - leap,
                    (ms % 1000) * 1_000_000 + i64::from(acc.ftow.unwrap_or(0)),
                )
            }),
        };
        out.push_back(build(acc, time, end));
    }
}

/// The fix of one epoch.
fn build(acc: Acc, time: Option<(i64, i32)>, end: &str) -> GpsFix {
    let (mode, quality, fix_ok) = acc.status.map_or(
        (FixMode::Unspecified, FixQuality::Unspecified, None),
        |(_, m, q, ok)| (m, q, Some(ok)),
    );
    let has_fix = matches!(mode, FixMode::FixMode2d | FixMode::FixMode3d);
    let geo = acc.ecef_pos.and_then(ecef::to_geodetic);
    let (lat, lon, hae, msl) = match acc.llh {
        Some((_, lat, lon, h, msl)) => (Some(lat), Some(lon), Some(h), msl),
        None => match geo {
            Some(g) => (Some(g.lat), Some(g.lon), Some(g.height), None),
            None => (None, None, None, None),
        },
    };
    let (ned, speed, course) = match acc.vel {
        Some((_, ned, speed, course)) => (Some(ned), Some(speed), Some(course)),
        None => {
            let at = geo.or(match (lat, lon) {
                (Some(lat), Some(lon)) => Some(Geodetic {
                    lat,
                    lon,
                    height: hae.unwrap_or(0.0),
                }),
                _ => None,
            });
            match (at, acc.ecef_vel) {
                (Some(at), Some(v)) => {
                    let ned = ecef::ned_velocity(at, v);
                    let [n, e, _] = ned;
                    (Some(ned), Some(n.hypot(e)), Some(ecef::course(n, e)))
                }
                _ => (None, None, None),
            }
        }
    };
    let keep = |v: Option<f64>| v.filter(|_| has_fix);
    let alt_msl = keep(msl);
    let alt_hae = keep(hae);
    let mut distinct: Vec<(i32, u32)> = acc.sky.iter().map(|s| (s.constellation, s.prn)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let used_in_sky = acc.sky.iter().filter(|s| s.used).count() as u32;
    GpsFix {
        time: time.map(|(seconds, nanos)| Timestamp { seconds, nanos }),
        mode: mode as i32,
        quality: quality as i32,
        latitude_deg: keep(lat),
        longitude_deg: keep(lon),
        altitude_msl_m: alt_msl,
        altitude_hae_m: alt_hae,
        geoid_separation_m: alt_hae.zip(alt_msl).map(|(h, m)| h - m),
        speed_mps: keep(speed),
        course_deg: keep(course),
        climb_mps: keep(ned.map(|[_, _, d]| -d)),
        hdop: acc.hdop,
        vdop: acc.vdop,
        pdop: acc.pdop.map(|(_, p)| p),
        horizontal_error_m: keep(acc.h_acc.map(|(_, v)| v)),
        vertical_error_m: keep(acc.v_acc.map(|(_, v)| v)),
        satellites_used: acc
            .num_sv
            .map(|(_, n)| n)
            .or(acc.sky_seen.then_some(used_in_sky)),
        satellites_visible: acc.sky_seen.then_some(distinct.len() as u32),
        sky: acc.sky,
        talker: String::new(),
        cycle_end: end.to_owned(),
        velocity_north_mps: keep(ned.map(|[n, _, _]| n)),
        velocity_east_mps: keep(ned.map(|[_, e, _]| e)),
        velocity_down_mps: keep(ned.map(|[_, _, d]| d)),
        speed_error_mps: keep(acc.s_acc.map(|(_, v)| v)),
        course_error_deg: keep(acc.head_acc),
        position_error_3d_m: keep(acc.p_acc),
        gnss_fix_ok: fix_ok,
        // No magnetic variation or GST statistics in UBX.
        ..GpsFix::default()
    }
}
