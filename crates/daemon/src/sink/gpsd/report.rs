//! gpsd's report objects (`gpsd_json(5)`, protocol 3.14 as gpsd 3.22
//! writes it) made from what the daemon has: `TPV`, `SKY` and `GST` from
//! a `GpsFix`, `DEVICE`/`DEVICES` from the configured sensors, `VERSION`,
//! `WATCH`, `POLL` and `ERROR`. Each object is one line ending in `\r\n`.
//! A fix's reports are written straight into the output buffer: no
//! allocation per fix beyond the buffer's own growth.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix, SatelliteInfo};
use prost_types::Timestamp;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use super::error_model::{self, Dops, Errors, Previous};
use super::request::Policy;

/// `proto_major` of the protocol served.
pub const PROTO_MAJOR: u32 = 3;
/// `proto_minor`: the 3.14 objects (gpsd 3.21 and 3.22): `altHAE`,
/// `altMSL`, `geoidSep`, `nSat`, `uSat`, `gnssid`/`svid`.
pub const PROTO_MINOR: u32 = 14;

/// gpsd's error model for DOPs without DGPS (metres, 95 %): `eph` is
/// HDOP × 19, `epv` VDOP × 23, `sep` PDOP × 19, as gpsd reports them.
const P_UERE: f64 = 19.0;
const V_UERE: f64 = 23.0;
/// The same with DGPS corrections.
const P_UERE_DGPS: f64 = 4.75;
const V_UERE_DGPS: f64 = 5.75;

/// One device as `DEVICE` objects describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// The sensor whose frames it reports.
    pub sensor: String,
    /// Its path (the sensor's device).
    pub path: String,
    /// gpsd's driver name for its protocol.
    pub driver: String,
    /// Line speed.
    pub bps: Option<u32>,
}

impl Device {
    /// gpsd's driver name for a sensor protocol.
    pub fn driver_for(protocol: &str) -> String {
        match protocol {
            "nmea" => "NMEA0183".into(),
            "mavlink" => "MAVLink GPS_RAW_INT".into(),
            "ublox" => "u-blox".into(),
            other => other.into(),
        }
    }
}

/// Appends `value` as one line of JSON.
fn line(out: &mut Vec<u8>, value: &impl Serialize) {
    // Serializing these plain structs into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, value).is_ok() {
        out.extend_from_slice(b"\r\n");
    }
}

/// A time as gpsd writes it (ISO 8601, milliseconds, `Z`), formatted
/// straight into the JSON (no string in between).
#[derive(Debug, Clone, Copy)]
struct IsoTime(SystemTime);

impl Serialize for IsoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(self.0))
    }
}

/// Appends `time` as a JSON string, as `IsoTime` serializes it
/// (`"2014-12-31T03:07:19.000Z"`), without a formatter in between. A time
/// outside 1970–9999, which [`fix_time`] never makes, goes through
/// `IsoTime` itself.
fn iso_time(out: &mut Vec<u8>, time: &IsoTime) {
    let Ok(since) = time.0.duration_since(UNIX_EPOCH) else {
        json(out, time);
        return;
    };
    let secs = since.as_secs();
    let (year, month, day) = dronetel_wire::calendar::civil_from_days((secs / 86_400) as i64);
    let Some(year) = u64::try_from(year).ok().filter(|&y| y <= 9999) else {
        json(out, time);
        return;
    };
    let tod = secs % 86_400;
    let millis = since.subsec_millis();
    let mut text = *b"\"0000-00-00T00:00:00.000Z\"";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            if let Some(d) = text.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(1, 4, year);
    put(6, 2, u64::from(month));
    put(9, 2, u64::from(day));
    put(12, 2, tod / 3600);
    put(15, 2, tod % 3600 / 60);
    put(18, 2, tod % 60);
    put(21, 3, u64::from(millis));
    out.extend_from_slice(&text);
}

/// A protobuf timestamp as gpsd's time.
fn fix_time(t: &prost_types::Timestamp) -> Option<IsoTime> {
    // ISO 8601's four-digit years end with 9999-12-31T23:59:59.
    let secs = u64::try_from(t.seconds)
        .ok()
        .filter(|&s| s <= 253_402_300_799)?;
    let nanos = u32::try_from(t.nanos).ok()?;
    Some(IsoTime(UNIX_EPOCH + Duration::new(secs, nanos)))
}

/// `x` rounded to `decimals` places, as gpsd prints it.
fn round(x: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (x * k).round() / k
}

fn r(x: Option<f64>, decimals: i32) -> Option<f64> {
    x.map(|v| round(v, decimals))
}

#[derive(Serialize)]
struct Version {
    class: &'static str,
    release: String,
    rev: &'static str,
    proto_major: u32,
    proto_minor: u32,
}

/// The `VERSION` object sent on connect and for `?VERSION;`.
pub fn version(out: &mut Vec<u8>) {
    line(
        out,
        &Version {
            class: "VERSION",
            release: format!("dronetel {}", env!("CARGO_PKG_VERSION")),
            rev: env!("CARGO_PKG_VERSION"),
            proto_major: PROTO_MAJOR,
            proto_minor: PROTO_MINOR,
        },
    );
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    class: &'static str,
    message: &'a str,
}

/// An `ERROR` object.
pub fn error(out: &mut Vec<u8>, message: &str) {
    line(
        out,
        &ErrorObject {
            class: "ERROR",
            message,
        },
    );
}

#[derive(Serialize)]
struct DeviceObject<'a> {
    class: &'static str,
    path: &'a str,
    driver: &'a str,
    activated: &'a str,
    flags: u32,
    native: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    bps: Option<u32>,
    parity: &'static str,
    stopbits: u32,
    cycle: f64,
}

impl<'a> DeviceObject<'a> {
    fn new(d: &'a Device, activated: &'a str) -> Self {
        Self {
            class: "DEVICE",
            path: &d.path,
            driver: &d.driver,
            activated,
            // SEEN_GPS: the device delivers fixes.
            flags: 1,
            native: 0,
            bps: d.bps,
            parity: "N",
            stopbits: 1,
            cycle: 1.0,
        }
    }
}

/// A `DEVICE` object for `d`, activated at `activated` (ISO 8601).
pub fn device(out: &mut Vec<u8>, d: &Device, activated: &str) {
    line(out, &DeviceObject::new(d, activated));
}

#[derive(Serialize)]
struct Devices<'a> {
    class: &'static str,
    devices: Vec<DeviceObject<'a>>,
}

/// The `DEVICES` object listing `devices`.
pub fn devices(out: &mut Vec<u8>, devices: &[Device], activated: &str) {
    line(
        out,
        &Devices {
            class: "DEVICES",
            devices: devices
                .iter()
                .map(|d| DeviceObject::new(d, activated))
                .collect(),
        },
    );
}

#[derive(Serialize)]
struct Watch<'a> {
    class: &'static str,
    enable: bool,
    json: bool,
    nmea: bool,
    raw: u8,
    scaled: bool,
    timing: bool,
    split24: bool,
    pps: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
}

/// The `WATCH` object: the policy in effect.
pub fn watch(out: &mut Vec<u8>, p: &Policy) {
    line(
        out,
        &Watch {
            class: "WATCH",
            enable: p.watcher,
            json: p.json,
            nmea: p.nmea,
            raw: p.raw,
            scaled: p.scaled,
            timing: false,
            split24: p.split24,
            pps: p.pps,
            device: p.device.as_deref(),
        },
    );
}

/// A `TPV` object.
#[derive(Debug, Serialize)]
pub struct Tpv<'a> {
    class: &'static str,
    device: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u8>,
    mode: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<IsoTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ept: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(rename = "altHAE", skip_serializing_if = "Option::is_none")]
    alt_hae: Option<f64>,
    #[serde(rename = "altMSL", skip_serializing_if = "Option::is_none")]
    alt_msl: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epx: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epv: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magtrack: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magvar: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    climb: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epc: Option<f64>,
    #[serde(rename = "geoidSep", skip_serializing_if = "Option::is_none")]
    geoid_sep: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eph: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sep: Option<f64>,
}

/// gpsd's `mode`: 0 unknown, 1 no fix, 2 2D, 3 3D.
pub fn mode(fix: &GpsFix) -> u8 {
    match FixMode::try_from(fix.mode) {
        Ok(FixMode::NoFix) => 1,
        Ok(FixMode::FixMode2d) => 2,
        Ok(FixMode::FixMode3d) => 3,
        _ => 0,
    }
}

/// gpsd's `status` (3.22 `STATUS_*`), left out for a plain fix as gpsd
/// does.
fn status(fix: &GpsFix) -> Option<u8> {
    match FixQuality::try_from(fix.quality) {
        Ok(FixQuality::Dgps) => Some(2),
        Ok(FixQuality::RtkFixed) => Some(3),
        Ok(FixQuality::RtkFloat) => Some(4),
        Ok(FixQuality::DeadReckoning) => Some(5),
        Ok(FixQuality::Manual) => Some(7),
        Ok(FixQuality::Simulation) => Some(8),
        Ok(FixQuality::Pps) => Some(9),
        _ => None,
    }
}

/// Whether gpsd takes its DGPS error figures for `fix`: for a DGPS fix
/// only (`STATUS_DGPS_FIX`); RTK fixes get the plain ones, as in gpsd
/// 3.22 and 3.25.
fn dgps(fix: &GpsFix) -> bool {
    matches!(FixQuality::try_from(fix.quality), Ok(FixQuality::Dgps))
}

/// `d` moved into [0, 360) by one turn at most, as gpsd's `DEG_NORM`
/// (a track and a variation are each within one turn).
fn deg_norm(d: f64) -> f64 {
    if d < 0.0 {
        d + 360.0
    } else if d >= 360.0 {
        d - 360.0
    } else {
        d
    }
}

/// gpsd's `magvar` of a fix: the receiver's, unless it sent none or a
/// value within 0.09° of 0 (receivers send `0.0,E` for none), else gpsd's
/// magnetic model's at the fix's position.
fn magvar(fix: &GpsFix) -> Option<f64> {
    fix.magnetic_variation_deg
        .filter(|v| v.abs() > 0.09)
        .or_else(|| {
            let (lat, lon) = fix.latitude_deg.zip(fix.longitude_deg)?;
            dronetel_wire::geoid::magnetic_variation(lat, lon)
        })
}

/// `epv` as gpsd reports it: the receiver's expected altitude error
/// (GBS) with a fix, as `epx`/`epy` take GBS's, else VDOP × its vertical
/// UERE, 3D fixes only.
fn epv(fix: &GpsFix) -> Option<f64> {
    let v = if dgps(fix) { V_UERE_DGPS } else { V_UERE };
    let m = mode(fix);
    fix.expected_altitude_error_m
        .filter(|_| m >= 2)
        .or_else(|| fix.vdop.filter(|_| m >= 3).map(|d| d * v))
}

/// gpsd's error fields of `fix` with the device's sky view `sky` after
/// its `previous` fix ([`error_model`]), and what the device's next fix
/// needs of this one.
pub fn errors(
    fix: &GpsFix,
    dops: Option<Dops>,
    previous: Option<&Previous>,
) -> (Errors, Option<Previous>) {
    error_model::errors(fix, dops, mode(fix), epv(fix), dgps(fix), previous)
}

impl<'a> Tpv<'a> {
    /// The TPV of `fix` from `device`, with gpsd's error fields `e`.
    pub fn new(device: &'a str, fix: &GpsFix, e: Errors) -> Self {
        let p = if dgps(fix) { P_UERE_DGPS } else { P_UERE };
        let mode = mode(fix);
        let time = fix.time.as_ref().and_then(fix_time);
        let heights = Heights::of(fix);
        let fixed = mode >= 2;
        let magvar = magvar(fix).filter(|_| fixed);
        // gpsd prints these three in 3D only.
        let three_d = mode >= 3;
        Tpv {
            class: "TPV",
            device,
            status: status(fix),
            mode,
            ept: time.as_ref().map(|_| 0.005),
            time,
            lat: r(fix.latitude_deg, 9),
            lon: r(fix.longitude_deg, 9),
            alt_hae: r(heights.hae, 4),
            alt_msl: r(heights.msl, 4),
            alt: r(heights.msl, 4),
            epx: r(e.epx, 3),
            epy: r(e.epy, 3),
            epv: r(epv(fix), 3),
            track: r(fix.course_deg, 4),
            // The receiver's (VTG), else track + magvar as gpsd computes it.
            magtrack: r(
                fix.magnetic_course_deg
                    .filter(|_| fixed)
                    .or_else(|| fix.course_deg.zip(magvar).map(|(t, v)| deg_norm(t + v))),
                4,
            ),
            magvar: r(magvar, 1),
            speed: r(fix.speed_mps.or(e.speed), 3),
            climb: r(fix.climb_mps.filter(|_| three_d), 3),
            eps: r(e.eps, 2),
            epc: r(e.epc.filter(|_| three_d), 2),
            geoid_sep: r(heights.geoid_sep.filter(|_| three_d), 3),
            eph: r(fix.hdop.filter(|_| fixed).map(|d| d * p), 3),
            sep: r(fix.pdop.filter(|_| fixed).map(|d| d * p), 3),
        }
    }
}

/// A fix's heights as gpsd reports them (`gpsd_error_model()`): the
/// receiver's geoid separation, else gpsd's model's at the fix's position
/// ([`dronetel_wire::geoid`]); the height above the ellipsoid or above
/// mean sea level that the receiver left out, from the other and the
/// separation.
struct Heights {
    hae: Option<f64>,
    msl: Option<f64>,
    geoid_sep: Option<f64>,
}

impl Heights {
    fn of(fix: &GpsFix) -> Self {
        let geoid_sep = fix.geoid_separation_m.or_else(|| {
            let (lat, lon) = fix.latitude_deg.zip(fix.longitude_deg)?;
            dronetel_wire::geoid::wgs84_separation(lat, lon)
        });
        let (hae, msl) = (fix.altitude_hae_m, fix.altitude_msl_m);
        Heights {
            hae: hae.or_else(|| msl.zip(geoid_sep).map(|(m, s)| m + s)),
            msl: msl.or_else(|| hae.zip(geoid_sep).map(|(h, s)| h - s)),
            geoid_sep,
        }
    }
}

/// Appends the `TPV` of `fix` with gpsd's error fields `e`, written out
/// by hand as [`sky`] is: the same object as `Tpv` serializes (a test
/// holds them equal). Each GPS cycle wakes the daemon with cold caches,
/// so what a TPV costs here is mostly the machine code it runs through;
/// serde's per-member path and the time's formatter were a tenth of it.
pub fn tpv(out: &mut Vec<u8>, device: &str, fix: &GpsFix, e: Errors) {
    let t = Tpv::new(device, fix, e);
    out.extend_from_slice(b"{\"class\":\"TPV\",\"device\":");
    json(out, device);
    if let Some(s) = t.status {
        out.extend_from_slice(b",\"status\":");
        unsigned(out, u64::from(s));
    }
    out.extend_from_slice(b",\"mode\":");
    unsigned(out, u64::from(t.mode));
    time_member(out, t.time.as_ref());
    numbers(
        out,
        &[
            (b",\"ept\":", t.ept),
            (b",\"lat\":", t.lat),
            (b",\"lon\":", t.lon),
            (b",\"altHAE\":", t.alt_hae),
            (b",\"altMSL\":", t.alt_msl),
            (b",\"alt\":", t.alt),
            (b",\"epx\":", t.epx),
            (b",\"epy\":", t.epy),
            (b",\"epv\":", t.epv),
            (b",\"track\":", t.track),
            (b",\"magtrack\":", t.magtrack),
            (b",\"magvar\":", t.magvar),
            (b",\"speed\":", t.speed),
            (b",\"climb\":", t.climb),
            (b",\"eps\":", t.eps),
            (b",\"epc\":", t.epc),
            (b",\"geoidSep\":", t.geoid_sep),
            (b",\"eph\":", t.eph),
            (b",\"sep\":", t.sep),
        ],
    );
    out.extend_from_slice(b"}\r\n");
}

/// Appends how a `SKY` and a `GST` begin: `{"class":CLASS,"device":…`
/// and the time when there is one.
fn head(out: &mut Vec<u8>, class: &[u8], device: &str, time: Option<&IsoTime>) {
    out.extend_from_slice(b"{\"class\":\"");
    out.extend_from_slice(class);
    out.extend_from_slice(b"\",\"device\":");
    json(out, device);
    time_member(out, time);
}

/// Appends `,"time":…` when there is a time (`TPV`, `SKY`, `GST`).
fn time_member(out: &mut Vec<u8>, time: Option<&IsoTime>) {
    if let Some(time) = time {
        out.extend_from_slice(b",\"time\":");
        iso_time(out, time);
    }
}

/// Appends each number that is there after its key (`,"lat":`), as serde
/// writes an `f64` member; absent ones are left out, as
/// `skip_serializing_if = "Option::is_none"` does.
fn numbers(out: &mut Vec<u8>, members: &[(&[u8], Option<f64>)]) {
    for &(key, v) in members {
        if let Some(v) = v {
            out.extend_from_slice(key);
            json(out, &v);
        }
    }
}

/// Appends the `TOFF` object: the fix time `real` of a device's cycle and
/// the host clock `clock` when the cycle was read (the frame's
/// `received_at`, the time the `[chrony]` sink sends too), in gpsd 3.22's
/// members and their order. Clients parse it with libgps, whose reader
/// before 3.23 refuses members it does not know, so gpsd 3.23's
/// `precision` and `shm` are left out.
pub fn toff(out: &mut Vec<u8>, device: &str, real: &Timestamp, clock: &Timestamp) {
    out.extend_from_slice(b"{\"class\":\"TOFF\",\"device\":");
    json(out, device);
    for (key, v) in [
        (&b",\"real_sec\":"[..], real.seconds),
        (b",\"real_nsec\":", i64::from(real.nanos)),
        (b",\"clock_sec\":", clock.seconds),
        (b",\"clock_nsec\":", i64::from(clock.nanos)),
    ] {
        out.extend_from_slice(key);
        if v < 0 {
            out.push(b'-');
        }
        unsigned(out, v.unsigned_abs());
    }
    out.extend_from_slice(b"}\r\n");
}

/// Appends a watcher's reports of one fix: its `SKY` (with the DOPs
/// `dops` of the device's sky view) and its `GST` when it has them, then
/// its `TPV` (with the error fields `e`); returns how many. gpsd sends a
/// cycle's `SKY` and `GST` as their sentences arrive and the `TPV` at the
/// cycle's end, and clients that log a `TPV` with the latest sky (e.g.
/// `gpxlogger`'s `<sat>` and `<hdop>`) rely on that order.
pub fn fix_reports(
    out: &mut Vec<u8>,
    device: &str,
    fix: &GpsFix,
    e: Errors,
    dops: Option<Dops>,
) -> u64 {
    let mut n = 1;
    if has_sky(fix) {
        sky(out, device, fix, dops);
        n += 1;
    }
    if has_gst(fix) {
        gst(out, device, fix);
        n += 1;
    }
    tpv(out, device, fix, e);
    n
}

#[derive(Serialize)]
struct Satellite {
    #[serde(rename = "PRN")]
    prn: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    el: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    az: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ss: Option<f64>,
    used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    gnssid: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    svid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sigid: Option<u32>,
}

/// gpsd's `sigid` of a sky entry: the NMEA 4.10 signal ID its GSV sentence
/// carried, in u-blox's numbering by the table gpsd's NMEA driver uses
/// (`nmea_sigid_to_ubx`, the same in gpsd 3.22 and 3.25: 2 → 5, 3 → 2,
/// 5 → 4, 6 → 3, whatever the constellation; later gpsd maps by
/// constellation). gpsd leaves out sigid 0,
/// which is also what it makes of L1 (1), E1 (7) and the IDs it does not
/// map; so does the sink. UBX sources carry no signal ID.
fn sigid(s: &SatelliteInfo) -> Option<u32> {
    match s.signal_id? {
        2 => Some(5),
        3 => Some(2),
        5 => Some(4),
        6 => Some(3),
        _ => None,
    }
}

/// gpsd's PRN, `gnssid` and `svid` for a satellite numbered as NMEA
/// numbers it (GLONASS 65–96, SBAS 33–64, QZSS 193–202; Galileo and
/// BeiDou by their own numbers under their talker, or by the 101–136 and
/// 201–237 some receivers use).
fn numbering(s: &SatelliteInfo) -> (u32, Option<u8>, Option<u32>) {
    let n = s.prn;
    match Constellation::try_from(s.constellation) {
        Ok(Constellation::Gps) => (n, Some(0), Some(n)),
        Ok(Constellation::Sbas) if n <= 64 => (n, Some(1), Some(n + 87)),
        Ok(Constellation::Sbas) => (n, Some(1), Some(n)),
        Ok(Constellation::Galileo) => {
            // 101–136 under the GA talker: Quectel's numbering (LC79D,
            // EG25), which gpsd also reads as Galileo.
            let sv = if n > 300 {
                n - 300
            } else if n > 100 {
                n - 100
            } else {
                n
            };
            (300 + sv, Some(2), Some(sv))
        }
        Ok(Constellation::Beidou) => {
            let sv = if n > 400 {
                n - 400
            } else if n > 200 {
                n - 200
            } else {
                n
            };
            (400 + sv, Some(3), Some(sv))
        }
        Ok(Constellation::Qzss) if n >= 193 => (n, Some(5), Some(n - 192)),
        Ok(Constellation::Qzss) => (n, Some(5), Some(n)),
        Ok(Constellation::Glonass) if (65..=96).contains(&n) => (n, Some(6), Some(n - 64)),
        Ok(Constellation::Glonass) => (n + 64, Some(6), Some(n)),
        Ok(Constellation::Navic) => (n, Some(7), Some(n)),
        _ => (n, None, None),
    }
}

/// A fix's sky view, serialized one satellite at a time.
struct Satellites<'a>(&'a [SatelliteInfo]);

impl Satellites<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Satellites<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for sat in self.0 {
            let (prn, gnssid, svid) = numbering(sat);
            seq.serialize_element(&Satellite {
                prn,
                el: r(sat.elevation_deg, 1),
                az: r(sat.azimuth_deg, 1),
                ss: r(sat.snr_dbhz, 1),
                used: sat.used,
                gnssid,
                svid,
                sigid: sigid(sat),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct Sky<'a> {
    class: &'static str,
    device: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<IsoTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hdop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vdop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xdop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ydop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tdop: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gdop: Option<f64>,
    #[serde(rename = "nSat", skip_serializing_if = "Option::is_none")]
    n_sat: Option<u32>,
    #[serde(rename = "uSat", skip_serializing_if = "Option::is_none")]
    u_sat: Option<u32>,
    #[serde(skip_serializing_if = "Satellites::is_empty")]
    satellites: Satellites<'a>,
}

/// True when `fix` has something a `SKY` reports.
pub fn has_sky(fix: &GpsFix) -> bool {
    !fix.sky.is_empty() || fix.hdop.is_some() || fix.pdop.is_some() || fix.vdop.is_some()
}

impl<'a> Sky<'a> {
    /// The `SKY` of `fix`: the receiver's hdop, vdop and pdop, and the
    /// DOPs gpsd computes from the sky view (`dops`, see [`Dops`]).
    fn new(device: &'a str, fix: &'a GpsFix, dops: Option<Dops>) -> Self {
        let d = dops.unwrap_or_default();
        let n_sat = (!fix.sky.is_empty()).then_some(fix.sky.len() as u32);
        // As gpsd: with a sky view, its entries marked used (a receiver
        // whose GSV covers fewer constellations than its GSA, such as the
        // ZED-F9P, would otherwise show more used than seen); without
        // one, the receiver's count.
        let u_sat = match n_sat {
            Some(_) => Some(fix.sky.iter().filter(|s| s.used).count() as u32),
            None => fix.satellites_used,
        };
        Sky {
            class: "SKY",
            device,
            time: fix.time.as_ref().and_then(fix_time),
            hdop: r(fix.hdop, 2),
            vdop: r(fix.vdop, 2),
            pdop: r(fix.pdop, 2),
            xdop: r(d.x, 2),
            ydop: r(d.y, 2),
            tdop: r(d.t, 2),
            gdop: r(d.g, 2),
            n_sat,
            u_sat,
            satellites: Satellites(&fix.sky),
        }
    }
}

/// Appends the `SKY` of `fix`, written out by hand: a dozen satellites
/// of seven members each made serde's per-member work most of the sink's
/// CPU. The same object as `Sky` serializes (a test holds them equal).
pub fn sky(out: &mut Vec<u8>, device: &str, fix: &GpsFix, dops: Option<Dops>) {
    let sky = Sky::new(device, fix, dops);
    head(out, b"SKY", device, sky.time.as_ref());
    numbers(
        out,
        &[
            (b",\"hdop\":", sky.hdop),
            (b",\"vdop\":", sky.vdop),
            (b",\"pdop\":", sky.pdop),
            (b",\"xdop\":", sky.xdop),
            (b",\"ydop\":", sky.ydop),
            (b",\"tdop\":", sky.tdop),
            (b",\"gdop\":", sky.gdop),
        ],
    );
    for (key, v) in [(&b",\"nSat\":"[..], sky.n_sat), (b",\"uSat\":", sky.u_sat)] {
        if let Some(v) = v {
            out.extend_from_slice(key);
            unsigned(out, u64::from(v));
        }
    }
    if !fix.sky.is_empty() {
        out.extend_from_slice(b",\"satellites\":[");
        for (i, sat) in fix.sky.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            satellite(out, sat);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}\r\n");
}

/// One satellite of a hand-written `SKY`, as [`Satellite`] serializes.
fn satellite(out: &mut Vec<u8>, sat: &SatelliteInfo) {
    let (prn, gnssid, svid) = numbering(sat);
    // Each key is a literal of known length, so its copy is a few stores
    // rather than a call to memcpy (nine calls per satellite before).
    out.reserve(128);
    out.extend_from_slice(b"{\"PRN\":");
    unsigned(out, u64::from(prn));
    if let Some(v) = sat.elevation_deg {
        out.extend_from_slice(b",\"el\":");
        tenths(out, v);
    }
    if let Some(v) = sat.azimuth_deg {
        out.extend_from_slice(b",\"az\":");
        tenths(out, v);
    }
    if let Some(v) = sat.snr_dbhz {
        out.extend_from_slice(b",\"ss\":");
        tenths(out, v);
    }
    if sat.used {
        out.extend_from_slice(b",\"used\":true");
    } else {
        out.extend_from_slice(b",\"used\":false");
    }
    if let Some(g) = gnssid {
        out.extend_from_slice(b",\"gnssid\":");
        unsigned(out, u64::from(g));
    }
    if let Some(v) = svid {
        out.extend_from_slice(b",\"svid\":");
        unsigned(out, u64::from(v));
    }
    if let Some(v) = sigid(sat) {
        out.extend_from_slice(b",\"sigid\":");
        unsigned(out, u64::from(v));
    }
    out.push(b'}');
}

/// `value` as JSON (serializing a string or number into a `Vec` cannot
/// fail).
fn json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `v` in decimal.
fn unsigned(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    // Pushed byte by byte: a copy of 1 to 20 bytes of unknown length
    // would be a memcpy call.
    for &d in digits.get(i..).unwrap_or_default() {
        out.push(d);
    }
}

/// `x` rounded to one decimal, as serde writes `round(x, 1)` (`40.0`,
/// `-5.5`); outside ±1e15 through serde itself.
fn tenths(out: &mut Vec<u8>, x: f64) {
    // What GSV sends, whole degrees and dB-Hz under 1000, are written as
    // digits and ".0" without the rounding (a libm call on x86-64): three
    // of these per satellite were a tenth of a cycle's instructions.
    let whole = x as u32; // saturating; NaN is 0
    if f64::from(whole) == x && whole < 1000 && x.is_sign_positive() {
        if whole >= 100 {
            out.push(b'0' + (whole / 100) as u8);
        }
        if whole >= 10 {
            out.push(b'0' + (whole / 10 % 10) as u8);
        }
        out.push(b'0' + (whole % 10) as u8);
        out.extend_from_slice(b".0");
        return;
    }
    let t = (x * 10.0).round();
    if !t.is_finite() || t.abs() >= 1e16 {
        json(out, &round(x, 1));
        return;
    }
    // Negative zero too, as serde writes it ("-0.0").
    if t.is_sign_negative() {
        out.push(b'-');
    }
    let t = t as i64;
    let t = t.unsigned_abs();
    unsigned(out, t / 10);
    out.push(b'.');
    out.push(b'0' + (t % 10) as u8);
}

/// A `GST` object: the receiver's error statistics (NMEA GST), as gpsd
/// passes them on.
#[derive(Serialize)]
struct Gst<'a> {
    class: &'static str,
    device: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<IsoTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    major: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orient: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt: Option<f64>,
}

impl<'a> Gst<'a> {
    fn new(device: &'a str, fix: &GpsFix) -> Self {
        Gst {
            class: "GST",
            device,
            time: fix.time.as_ref().and_then(fix_time),
            rms: r(fix.range_rms_m, 3),
            major: r(fix.error_ellipse_major_m, 3),
            minor: r(fix.error_ellipse_minor_m, 3),
            orient: r(fix.error_ellipse_orientation_deg, 3),
            lat: r(fix.latitude_error_m, 3),
            lon: r(fix.longitude_error_m, 3),
            alt: r(fix.vertical_error_m, 3),
        }
    }
}

/// True when the cycle of `fix` had a GST.
pub fn has_gst(fix: &GpsFix) -> bool {
    fix.range_rms_m.is_some()
        || fix.error_ellipse_major_m.is_some()
        || fix.error_ellipse_minor_m.is_some()
        || fix.error_ellipse_orientation_deg.is_some()
        || fix.latitude_error_m.is_some()
        || fix.longitude_error_m.is_some()
}

/// Appends the `GST` of `fix`, written by hand as the `TPV` is (a test
/// holds the bytes equal to what `Gst` serializes): serde's per-member
/// path and the time's formatter stay out of every cycle's code.
pub fn gst(out: &mut Vec<u8>, device: &str, fix: &GpsFix) {
    let g = Gst::new(device, fix);
    head(out, b"GST", device, g.time.as_ref());
    numbers(
        out,
        &[
            (b",\"rms\":", g.rms),
            (b",\"major\":", g.major),
            (b",\"minor\":", g.minor),
            (b",\"orient\":", g.orient),
            (b",\"lat\":", g.lat),
            (b",\"lon\":", g.lon),
            (b",\"alt\":", g.alt),
        ],
    );
    out.extend_from_slice(b"}\r\n");
}

/// One device's last fix, for `?POLL;`.
pub struct Polled<'a> {
    /// The device's path.
    pub device: &'a str,
    /// Its last fix.
    pub fix: &'a GpsFix,
}

#[derive(Serialize)]
struct Poll<'a> {
    class: &'static str,
    time: IsoTime,
    active: usize,
    tpv: Vec<Tpv<'a>>,
    gst: Vec<Gst<'a>>,
    sky: Vec<Sky<'a>>,
}

/// The `POLL` object: the last fix of each device (its error fields
/// without the speed and climb errors, which need the fix before).
pub fn poll(out: &mut Vec<u8>, last: &[Polled<'_>]) {
    let dops: Vec<Option<Dops>> = last
        .iter()
        .map(|p| error_model::sky_dops(&p.fix.sky))
        .collect();
    line(
        out,
        &Poll {
            class: "POLL",
            time: IsoTime(SystemTime::now()),
            active: last.len(),
            tpv: last
                .iter()
                .zip(&dops)
                .map(|(p, d)| Tpv::new(p.device, p.fix, errors(p.fix, *d, None).0))
                .collect(),
            gst: last
                .iter()
                .filter(|p| has_gst(p.fix))
                .map(|p| Gst::new(p.device, p.fix))
                .collect(),
            sky: last
                .iter()
                .zip(&dops)
                .filter(|(p, _)| has_sky(p.fix))
                .map(|(p, d)| Sky::new(p.device, p.fix, *d))
                .collect(),
        },
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::Value;

    fn parse(out: &[u8]) -> Vec<Value> {
        std::str::from_utf8(out)
            .unwrap()
            .split_terminator("\r\n")
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn fix() -> GpsFix {
        GpsFix {
            time: Some(prost_types::Timestamp {
                seconds: 1_419_995_239,
                nanos: 0,
            }),
            mode: FixMode::FixMode3d as i32,
            quality: FixQuality::Gps as i32,
            latitude_deg: Some(-37.784_788_333_333),
            longitude_deg: Some(175.314_896_666_667),
            altitude_msl_m: Some(59.9),
            altitude_hae_m: Some(83.6),
            geoid_separation_m: Some(23.7),
            speed_mps: Some(0.69 * 0.514_444),
            course_deg: Some(181.39),
            hdop: Some(1.1),
            vdop: Some(1.5),
            pdop: Some(1.8),
            satellites_used: Some(8),
            sky: vec![SatelliteInfo {
                constellation: Constellation::Glonass as i32,
                prn: 70,
                elevation_deg: Some(45.0),
                azimuth_deg: Some(120.0),
                snr_dbhz: Some(40.0),
                used: true,
                signal_id: None,
            }],
            ..Default::default()
        }
    }

    /// The values gpsd 3.22 reports for the same sentences (its
    /// regression output for `bu353s4.log`, second 03:07:19).
    #[test]
    fn tpv_carries_what_gpsd_reports() {
        let mut out = Vec::new();
        let f = fix();
        tpv(
            &mut out,
            "/dev/gps",
            &f,
            errors(&f, error_model::sky_dops(&f.sky), None).0,
        );
        let v = &parse(&out)[0];
        assert_eq!(v["class"], "TPV");
        assert_eq!(v["device"], "/dev/gps");
        assert_eq!(v["mode"], 3);
        assert!(v.get("status").is_none(), "a plain fix has no status");
        assert_eq!(v["time"], "2014-12-31T03:07:19.000Z");
        assert_eq!(v["lat"], -37.784788333);
        assert_eq!(v["lon"], 175.314896667);
        assert_eq!(v["altHAE"], 83.6);
        assert_eq!(v["altMSL"], 59.9);
        assert_eq!(v["alt"], 59.9);
        assert_eq!(v["track"], 181.39);
        assert_eq!(v["speed"], 0.355);
        assert_eq!(v["geoidSep"], 23.7);
        assert_eq!(v["eph"], 20.9);
        assert_eq!(v["epv"], 34.5);
        assert_eq!(v["sep"], 34.2);
        assert!(out.ends_with(b"}\r\n"));
    }

    /// The members gpsd derives, by its rules (3.22's `gpsd_error_model()`
    /// and `json_tpv_dump()`): `magvar` from its magnetic model when the
    /// receiver sends none or 0, `magtrack` = track + magvar in [0, 360),
    /// the plain error figures for RTK (DGPS only gets the small ones),
    /// and `geoidSep`, `epc`, `climb` in 3D only.
    #[test]
    fn tpv_derives_members_as_gpsd_does() {
        let model =
            dronetel_wire::geoid::magnetic_variation(-37.784_788_333_333, 175.314_896_666_667)
                .unwrap();
        let one = |f: &GpsFix| {
            let mut out = Vec::new();
            tpv(&mut out, "/dev/gps", f, errors(f, None, None).0);
            parse(&out).remove(0)
        };
        for sent in [None, Some(0.0), Some(-0.05)] {
            let mut f = fix();
            f.magnetic_variation_deg = sent;
            let v = one(&f);
            assert_eq!(v["magvar"], round(model, 1), "{sent:?}");
            assert_eq!(
                v["magtrack"],
                round((181.39 + model) % 360.0, 4),
                "{sent:?}"
            );
        }
        let mut f = fix();
        f.magnetic_variation_deg = Some(-3.8);
        f.course_deg = Some(2.0);
        let v = one(&f);
        assert_eq!(
            (v["magvar"].clone(), v["magtrack"].clone()),
            ((-3.8).into(), 358.2.into())
        );
        // A VTG's magnetic track is reported as sent; a GBS's expected
        // errors are epy (latitude), epx (longitude) and epv.
        f.magnetic_course_deg = Some(5.5);
        f.expected_latitude_error_m = Some(1.0);
        f.expected_longitude_error_m = Some(1.1);
        f.expected_altitude_error_m = Some(3.1);
        let v = one(&f);
        assert_eq!(v["magtrack"], 5.5);
        assert_eq!(
            (v["epy"].clone(), v["epx"].clone(), v["epv"].clone()),
            (1.0.into(), 1.1.into(), 3.1.into())
        );
        // RTK: HDOP × 19, as a plain fix; DGPS: × 4.75.
        for (q, eph) in [
            (FixQuality::RtkFixed, 20.9),
            (FixQuality::RtkFloat, 20.9),
            (FixQuality::Dgps, 5.225),
        ] {
            let mut f = fix();
            f.quality = q as i32;
            assert_eq!(one(&f)["eph"], eph, "{q:?}");
        }
        // 2D: no geoidSep, epc or climb.
        let mut f = fix();
        f.mode = FixMode::FixMode2d as i32;
        f.climb_mps = Some(0.5);
        let prev = errors(&f, None, None).1;
        if let Some(t) = f.time.as_mut() {
            t.seconds += 1;
        }
        let mut out = Vec::new();
        tpv(&mut out, "/dev/gps", &f, errors(&f, None, prev.as_ref()).0);
        let v = &parse(&out)[0];
        for k in ["geoidSep", "epc", "climb"] {
            assert!(v.get(k).is_none(), "{k} in 2D: {v}");
        }
        assert!(v.get("lat").is_some() && v.get("magvar").is_some(), "{v}");
    }

    /// A GGA without geoid separation gets gpsd's model's; RMC's magnetic
    /// variation and GST's statistics are passed on as gpsd passes them
    /// (the values of `quectel-L70.log`, gpsd 3.22's GST for 15:01:19).
    #[test]
    fn gst_magvar_and_the_geoid_model() {
        let mut f = fix();
        f.geoid_separation_m = None;
        f.altitude_hae_m = None;
        f.magnetic_variation_deg = Some(-3.8);
        f.range_rms_m = Some(4.0);
        f.error_ellipse_major_m = Some(8.7);
        f.error_ellipse_minor_m = Some(4.7);
        f.error_ellipse_orientation_deg = Some(132.3);
        f.latitude_error_m = Some(6.8);
        f.longitude_error_m = Some(7.2);
        f.vertical_error_m = Some(14.0);
        let mut out = Vec::new();
        assert_eq!(
            fix_reports(
                &mut out,
                "/dev/gps",
                &f,
                errors(&f, error_model::sky_dops(&f.sky), None).0,
                error_model::sky_dops(&f.sky),
            ),
            3
        );
        let v = parse(&out);
        let classes: Vec<&str> = v.iter().map(|o| o["class"].as_str().unwrap()).collect();
        assert_eq!(classes, ["SKY", "GST", "TPV"], "gpsd's order in a cycle");
        let sep = dronetel_wire::geoid::wgs84_separation(-37.784_788_333_333, 175.314_896_666_667)
            .unwrap();
        assert_eq!(v[2]["geoidSep"], round(sep, 3));
        assert_eq!(v[2]["altHAE"], round(59.9 + sep, 4));
        assert_eq!(v[2]["magvar"], -3.8);
        assert_eq!(v[1]["time"], "2014-12-31T03:07:19.000Z");
        for (k, want) in [
            ("rms", 4.0),
            ("major", 8.7),
            ("minor", 4.7),
            ("orient", 132.3),
            ("lat", 6.8),
            ("lon", 7.2),
            ("alt", 14.0),
        ] {
            assert_eq!(v[1][k], want, "{k}");
        }
    }

    /// The hand-written `SKY` is the object `Sky` serializes, member for
    /// member and value for value.
    #[test]
    fn hand_written_sky_equals_serde_sky() {
        let mut f = fix();
        f.sky.push(SatelliteInfo {
            constellation: Constellation::Gps as i32,
            prn: 7,
            elevation_deg: Some(-2.25),
            azimuth_deg: None,
            snr_dbhz: Some(0.04),
            used: false,
            signal_id: None,
        });
        f.sky.push(SatelliteInfo {
            constellation: Constellation::Gps as i32,
            prn: 7,
            elevation_deg: Some(-2.25),
            azimuth_deg: Some(130.0),
            snr_dbhz: Some(18.0),
            used: true,
            signal_id: Some(6),
        });
        let dops = Some(Dops {
            x: Some(0.634),
            y: Some(0.7777),
            t: None,
            g: Some(2.19),
        });
        let mut hand = Vec::new();
        sky(&mut hand, "/dev/\"gps\"", &f, dops);
        let mut serde = Vec::new();
        line(&mut serde, &Sky::new("/dev/\"gps\"", &f, dops));
        assert_eq!(parse(&hand)[0]["ydop"], 0.78);
        assert_eq!(parse(&hand)[0]["satellites"][2]["sigid"], 3);
        assert_eq!(parse(&hand), parse(&serde));
        assert!(hand.ends_with(b"}\r\n"));
        f.sky.clear();
        f.hdop = None;
        let (mut hand, mut serde) = (Vec::new(), Vec::new());
        sky(&mut hand, "/dev/gps", &f, None);
        line(&mut serde, &Sky::new("/dev/gps", &f, None));
        assert_eq!(parse(&hand), parse(&serde));
    }

    /// Tenths are written as serde writes `round(x, 1)`, byte for byte:
    /// every whole number around the fast path's bounds, halves, negative
    /// and signed zeros, fractions that round up to a whole, and values
    /// the fast path must leave to the general one.
    #[test]
    fn tenths_are_serde_rounding() {
        let mut xs: Vec<f64> = (0..1100).map(f64::from).collect();
        xs.extend([
            -0.0,
            -1.0,
            -5.5,
            0.04,
            0.05,
            0.96,
            45.25,
            99.95,
            999.5,
            999.94,
            999.96,
            1e15,
            -1e15,
            4_294_967_296.0,
            f64::NAN,
            f64::INFINITY,
        ]);
        for x in xs {
            let mut hand = Vec::new();
            tenths(&mut hand, x);
            let mut serde = Vec::new();
            json(&mut serde, &round(x, 1));
            assert_eq!(hand, serde, "{x}");
        }
    }

    /// The hand-written `GST` is, byte for byte, what `Gst` serializes:
    /// every error, none but one, none at all, and an escaped device.
    #[test]
    fn hand_written_gst_equals_serde_gst() {
        let full = GpsFix {
            range_rms_m: Some(7.345_6),
            error_ellipse_major_m: Some(12.5),
            error_ellipse_minor_m: Some(3.0),
            error_ellipse_orientation_deg: Some(171.234_5),
            latitude_error_m: Some(2.1),
            longitude_error_m: Some(1.999_96),
            vertical_error_m: Some(4.0),
            ..fix()
        };
        let mut one = full.clone();
        one.range_rms_m = None;
        one.error_ellipse_major_m = None;
        one.error_ellipse_minor_m = None;
        one.error_ellipse_orientation_deg = None;
        one.latitude_error_m = None;
        one.vertical_error_m = None;
        one.longitude_error_m = Some(-0.000_4);
        one.time = None;
        let bare = GpsFix::default();
        for (device, f) in [
            ("/dev/gps", &full),
            ("/dev/\"gps\"\\1", &one),
            ("/dev/gps", &bare),
        ] {
            let mut hand = Vec::new();
            gst(&mut hand, device, f);
            let mut serde = Vec::new();
            line(&mut serde, &Gst::new(device, f));
            assert_eq!(
                String::from_utf8_lossy(&hand),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    /// The hand-written `TPV` is, byte for byte, what `Tpv` serializes:
    /// a full fix, one with a status and negative values, one with almost
    /// nothing, and a device name that needs escaping.
    #[test]
    fn hand_written_tpv_equals_serde_tpv() {
        let full = fix();
        let mut dgps = fix();
        dgps.quality = FixQuality::Dgps as i32;
        dgps.latitude_deg = Some(-0.000_000_04);
        dgps.climb_mps = Some(-1.25);
        dgps.magnetic_variation_deg = Some(-3.05);
        dgps.time = Some(prost_types::Timestamp {
            seconds: 951_782_400 + 86_399,
            nanos: 999_999_999,
        });
        let bare = GpsFix {
            mode: FixMode::NoFix as i32,
            ..Default::default()
        };
        let mut previous = None;
        for (device, f) in [
            ("/dev/gps", &full),
            ("/dev/\"gps\"\\1", &dgps),
            ("/dev/gps", &bare),
            ("/dev/gps", &dgps),
        ] {
            let (e, next) = errors(f, error_model::sky_dops(&f.sky), previous.as_ref());
            previous = next;
            let mut hand = Vec::new();
            tpv(&mut hand, device, f, e);
            let mut serde = Vec::new();
            line(&mut serde, &Tpv::new(device, f, e));
            assert_eq!(
                String::from_utf8_lossy(&hand),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    /// Times written by hand equal humantime's RFC 3339 with milliseconds
    /// (what `IsoTime` serializes), across leap days, century years,
    /// millisecond truncation and the last representable second.
    #[test]
    fn iso_time_equals_humantime() {
        let mut seconds: Vec<u64> = (0..253_402_300_800u64).step_by(7_654_321_987).collect();
        for (y, m, d) in [(1972, 2, 29), (2000, 2, 29), (2100, 3, 1), (2400, 2, 29)] {
            let days = days_from_civil(y, m, d);
            for delta in [0, 86_399, 86_400] {
                seconds.push(days * 86_400 + delta);
            }
        }
        seconds.push(253_402_300_799);
        for (i, secs) in seconds.into_iter().enumerate() {
            let nanos = [0, 999_999, 1_000_000, 999_999_999][i % 4];
            let t = IsoTime(UNIX_EPOCH + Duration::new(secs, nanos));
            let (mut hand, mut serde) = (Vec::new(), Vec::new());
            iso_time(&mut hand, &t);
            json(&mut serde, &t);
            assert_eq!(
                String::from_utf8_lossy(&hand),
                String::from_utf8_lossy(&serde),
                "{secs} s {nanos} ns"
            );
        }
        let far = prost_types::Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        };
        assert!(fix_time(&far).is_none(), "no five-digit years");
    }

    /// Days since 1970-01-01 of a Gregorian date (the test's own count,
    /// independent of `civil_from_days`).
    fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
        let leap =
            |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
        let mut days = (1970..year)
            .map(|y| if leap(y) { 366 } else { 365 })
            .sum::<u64>();
        let lengths = [
            31,
            if leap(year) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        days += lengths[..(month - 1) as usize].iter().sum::<u64>();
        days + day - 1
    }

    /// `SKY` has the DOPs gpsd computes from the used satellites beside
    /// the receiver's: five satellites whose DOPs are known in closed form
    /// (see `error_model`), with the receiver's hdop kept as sent.
    #[test]
    fn sky_reports_the_dops_of_its_geometry() {
        let mut f = fix();
        f.sky = [(1, 0.0), (2, 90.0), (3, 180.0), (4, 270.0)]
            .map(|(prn, az)| (prn, az, 0.0))
            .into_iter()
            .chain([(5, 0.0, 90.0)])
            .map(|(prn, az, el)| SatelliteInfo {
                constellation: Constellation::Gps as i32,
                prn,
                elevation_deg: Some(el),
                azimuth_deg: Some(az),
                used: true,
                ..Default::default()
            })
            .collect();
        let mut out = Vec::new();
        sky(&mut out, "/dev/gps", &f, error_model::sky_dops(&f.sky));
        let v = &parse(&out)[0];
        for (k, want) in [
            ("xdop", 0.71),
            ("ydop", 0.71),
            ("tdop", 0.5),
            ("gdop", 1.58),
            ("hdop", 1.1),
        ] {
            assert_eq!(v[k], want, "{k}: {v}");
        }
    }

    /// `TOFF` as gpsd 3.22 writes it, and as libgps's reader takes it
    /// (its members only).
    #[test]
    fn toff_has_gpsd_members() {
        let mut out = Vec::new();
        let real = Timestamp {
            seconds: 1_796_126_402,
            nanos: 0,
        };
        let clock = Timestamp {
            seconds: 1_796_126_402,
            nanos: 137_452_299,
        };
        toff(&mut out, "/dev/ttyS0", &real, &clock);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"class\":\"TOFF\",\"device\":\"/dev/ttyS0\",\"real_sec\":1796126402,\
             \"real_nsec\":0,\"clock_sec\":1796126402,\"clock_nsec\":137452299}\r\n"
        );
    }

    /// Galileo and BeiDou under their talkers, by each numbering
    /// receivers use, get gpsd's PRNs (301–, 401–) and their svid.
    #[test]
    fn galileo_and_beidou_numbers_are_gpsds() {
        let n = |c: Constellation, prn| {
            numbering(&SatelliteInfo {
                constellation: c as i32,
                prn,
                ..Default::default()
            })
        };
        for prn in [3, 103, 303] {
            assert_eq!(
                n(Constellation::Galileo, prn),
                (303, Some(2), Some(3)),
                "{prn}"
            );
        }
        for prn in [38, 238, 438] {
            assert_eq!(
                n(Constellation::Beidou, prn),
                (438, Some(3), Some(38)),
                "{prn}"
            );
        }
    }

    #[test]
    fn sky_numbers_satellites_as_gpsd_does() {
        let mut out = Vec::new();
        sky(&mut out, "/dev/gps", &fix(), None);
        let v = &parse(&out)[0];
        assert_eq!(v["class"], "SKY");
        // uSat counts the used entries of the list, as gpsd's does, not
        // the receiver's 8 (GGA/GSA), which may name satellites its GSV
        // does not list.
        assert_eq!(
            (v["hdop"].clone(), v["uSat"].clone(), v["nSat"].clone()),
            (1.1.into(), 1.into(), 1.into())
        );
        let s = &v["satellites"][0];
        assert_eq!(
            (s["PRN"].clone(), s["gnssid"].clone(), s["svid"].clone()),
            (70.into(), 6.into(), 6.into())
        );
        // Without a sky view: the receiver's count.
        let mut f = fix();
        f.sky.clear();
        out.clear();
        sky(&mut out, "/dev/gps", &f, None);
        let v = &parse(&out)[0];
        assert_eq!((v["uSat"].clone(), v.get("nSat")), (8.into(), None));
        assert_eq!(s["used"], true);
    }

    /// NMEA 4.10 signal IDs become gpsd's `sigid` by gpsd's table,
    /// whatever the constellation; those it makes 0 are left out.
    #[test]
    fn sigid_is_gpsds_numbering_of_the_signal() {
        let sat = |c: Constellation, signal_id| SatelliteInfo {
            constellation: c as i32,
            prn: 5,
            signal_id,
            ..Default::default()
        };
        for c in [
            Constellation::Gps,
            Constellation::Galileo,
            Constellation::Beidou,
        ] {
            let got: Vec<_> = [None, Some(0), Some(1), Some(2), Some(3), Some(4)]
                .into_iter()
                .chain([Some(5), Some(6), Some(7), Some(8), Some(15)])
                .map(|id| sigid(&sat(c, id)))
                .collect();
            assert_eq!(
                got,
                [
                    None,
                    None,
                    None,
                    Some(5),
                    Some(2),
                    None,
                    Some(4),
                    Some(3),
                    None,
                    None,
                    None
                ],
                "{c:?}"
            );
        }
    }

    #[test]
    fn poll_lists_each_device_once() {
        let mut out = Vec::new();
        let f = fix();
        poll(
            &mut out,
            &[
                Polled {
                    device: "/dev/a",
                    fix: &f,
                },
                Polled {
                    device: "/dev/b",
                    fix: &f,
                },
            ],
        );
        let v = &parse(&out)[0];
        assert_eq!(v["class"], "POLL");
        assert_eq!(v["active"], 2);
        assert_eq!(v["tpv"].as_array().unwrap().len(), 2);
        assert_eq!(v["sky"][1]["device"], "/dev/b");
    }

    #[test]
    fn version_watch_and_error_objects() {
        let mut out = Vec::new();
        version(&mut out);
        watch(
            &mut out,
            &Policy {
                watcher: true,
                json: true,
                ..Default::default()
            },
        );
        error(&mut out, "Unrecognized request '?FOO'");
        let v = parse(&out);
        assert_eq!(v[0]["proto_major"], 3);
        assert!(v[0]["release"].as_str().unwrap().starts_with("dronetel"));
        assert_eq!(
            (v[1]["enable"].clone(), v[1]["nmea"].clone()),
            (true.into(), false.into())
        );
        assert_eq!(v[2]["message"], "Unrecognized request '?FOO'");
    }
}
