//! gpsd's error model (`gpsd_error_model()` and `fill_dop()` of gpsd
//! 3.22's `libgpsd_core.c`, BSD-2-Clause): the TPV error fields gpsd
//! derives from DOPs, the satellite geometry and the previous fix of the
//! same device, so that a gpsd client reads the same `epx`, `epy`, `eps`
//! and `epc` from the daemon as from gpsd.
//!
//! - `epx`/`epy`: the east/north DOP of the used satellites' geometry
//!   (`fill_dop()`: the line-of-sight matrix of the used satellites with a
//!   valid elevation and azimuth, at least 4) × 15 m (3.75 m with DGPS).
//! - `eps`: (the larger of the previous fix's `epx`/`epy` + the larger of
//!   this fix's) ÷ the time between the two fixes.
//! - `epc`: (the previous fix's `epv` + this fix's) ÷ that time.
//! - `speed`, when the receiver sent none: the distance from the previous
//!   fix (Vincenty on the WGS-84 ellipsoid, gpsd's `earth_distance()`)
//!   ÷ that time.

use dronetel_proto::v1::{GpsFix, SatelliteInfo};

/// `H_UERE_NO_DGPS` and `H_UERE_WITH_DGPS`, metres (95 %).
const H_UERE: f64 = 15.0;
const H_UERE_DGPS: f64 = 3.75;

/// What the next fix's `eps` and `epc` need of this one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Previous {
    /// Fix time, seconds since 1970.
    time: f64,
    /// gpsd's mode (≥ 2: a fix).
    mode: u8,
    epx: Option<f64>,
    epy: Option<f64>,
    epv: Option<f64>,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// The error fields of one fix.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Errors {
    /// Longitude (east) error, metres, 95 %.
    pub epx: Option<f64>,
    /// Latitude (north) error, metres, 95 %.
    pub epy: Option<f64>,
    /// Speed error, metres per second, 95 %.
    pub eps: Option<f64>,
    /// Climb error, metres per second, 95 %.
    pub epc: Option<f64>,
    /// Speed from the distance to the previous fix, when the fix has none.
    pub speed: Option<f64>,
}

/// The DOPs gpsd computes from the used satellites' geometry
/// (`fill_dop()`) that NMEA receivers never report: the east and north
/// DOPs (`epx`/`epy` come from them) and the time and geometric DOPs.
/// `SKY` reports all four. Each is `None` where the inverse's diagonal is
/// negative (gpsd's square root of it is NaN, which it leaves out).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dops {
    /// East DOP (gpsd's `xdop`).
    pub x: Option<f64>,
    /// North DOP (`ydop`).
    pub y: Option<f64>,
    /// Time DOP (`tdop`).
    pub t: Option<f64>,
    /// Geometric DOP (`gdop`).
    pub g: Option<f64>,
}

/// The DOPs of a device's sky view (`fill_dop()`), kept
/// with the geometry they came from: the used satellites' numbers,
/// azimuths and elevations. A receiver reports whole degrees, which stay
/// the same for minutes, so most cycles find the geometry unchanged and
/// skip the trigonometry and the matrix inversion.
#[derive(Debug, Default)]
pub struct Geometry {
    /// (PRN, azimuth, elevation) of the satellites the DOPs came from, in
    /// the sky view's order (the sums, and so the result, depend on it).
    used: Vec<(u32, f64, f64)>,
    dops: Option<Dops>,
}

impl Geometry {
    /// Takes `sky` as the device's sky view and returns its DOPs,
    /// computed again only when the used satellites or their positions
    /// changed.
    pub fn update(&mut self, sky: &[SatelliteInfo]) -> Option<Dops> {
        if !usable(sky).eq(self.used.iter().copied()) {
            self.used.clear();
            self.used.extend(usable(sky));
            self.dops = geometry_dops(&self.used);
        }
        self.dops
    }

    /// The DOPs of the last sky view: gpsd keeps a device's sky between
    /// the cycles without GSV.
    pub fn dops(&self) -> Option<Dops> {
        self.dops
    }
}

/// The DOPs of `sky` alone, for a fix reported without its device's
/// history (`?POLL`).
pub fn sky_dops(sky: &[SatelliteInfo]) -> Option<Dops> {
    geometry_dops(&usable(sky).collect::<Vec<_>>())
}

/// The satellites `fill_dop()` takes: used, numbered, with an azimuth in
/// 0–359 and an elevation in ±90°.
fn usable(sky: &[SatelliteInfo]) -> impl Iterator<Item = (u32, f64, f64)> + '_ {
    sky.iter().filter(|s| s.used && s.prn >= 1).filter_map(|s| {
        let (az, el) = (s.azimuth_deg?, s.elevation_deg?);
        ((0.0..=359.0).contains(&az) && el.abs() <= 90.0).then_some((s.prn, az, el))
    })
}

/// `fix`'s error fields as gpsd computes them, given the east and north
/// DOPs of the device's sky view ([`Geometry`]: the fix's, or the last one
/// it sent), its gpsd `mode`, `epv` (as reported), whether it is a DGPS
/// fix, and the device's previous fix; with what the next fix of the
/// device needs.
pub fn errors(
    fix: &GpsFix,
    dops: Option<Dops>,
    mode: u8,
    epv: Option<f64>,
    dgps: bool,
    prev: Option<&Previous>,
) -> (Errors, Option<Previous>) {
    let time = fix
        .time
        .as_ref()
        .map(|t| t.seconds as f64 + f64::from(t.nanos) * 1e-9);
    let mut e = Errors::default();
    if mode >= 2 && fix.hdop.is_some() {
        let uere = if dgps { H_UERE_DGPS } else { H_UERE };
        if let Some(d) = dops {
            e.epx = d.x.map(|x| x * uere);
            e.epy = d.y.map(|y| y * uere);
        }
    }
    // The receiver's own expected errors (GBS) come first, as gpsd's NMEA
    // driver sets them before its error model runs.
    if mode >= 2 {
        e.epx = fix.expected_longitude_error_m.or(e.epx);
        e.epy = fix.expected_latitude_error_m.or(e.epy);
    }
    if let (Some(t), Some(p)) = (time, prev) {
        let dt = t - p.time;
        if mode >= 2 && dt > 0.0 && p.mode >= 2 {
            if let (Some(px), Some(py)) = (p.epx, p.epy) {
                let now = match (e.epx, e.epy) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
                // gpsd adds NaN here, which it then leaves out.
                e.eps = now.map(|n| (px.max(py) + n) / dt);
            }
            if let (Some(pv), Some(v)) = (p.epv, epv) {
                e.epc = Some((pv + v) / dt);
            }
            if fix.speed_mps.is_none() {
                if let (Some(a), Some(b), Some(c), Some(d)) =
                    (p.lat, p.lon, fix.latitude_deg, fix.longitude_deg)
                {
                    e.speed = earth_distance(a, b, c, d)
                        .map(|m| m / dt)
                        .filter(|v| *v <= 9999.9);
                }
            }
        }
    }
    let next = time.map(|time| Previous {
        time,
        mode,
        epx: e.epx,
        epy: e.epy,
        epv,
        lat: fix.latitude_deg,
        lon: fix.longitude_deg,
    });
    (e, next.or(prev.copied()))
}

/// Metres between two positions on the WGS-84 ellipsoid (Vincenty's
/// inverse formula, as gpsd's `earth_distance()`); `None` when it does not
/// converge (nearly antipodal points).
fn earth_distance(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> Option<f64> {
    const A: f64 = 6_378_137.0;
    const B: f64 = 6_356_752.314_245;
    const F: f64 = 1.0 / 298.257_223_563;
    let l = (lon2 - lon1).to_radians();
    let u1 = ((1.0 - F) * lat1.to_radians().tan()).atan();
    let u2 = ((1.0 - F) * lat2.to_radians().tan()).atan();
    let (su1, cu1, su2, cu2) = (u1.sin(), u1.cos(), u2.sin(), u2.cos());
    let mut lambda = l;
    for _ in 0..100 {
        let (sl, cl) = (lambda.sin(), lambda.cos());
        let ss = ((cu2 * sl).powi(2) + (cu1 * su2 - su1 * cu2 * cl).powi(2)).sqrt();
        if ss == 0.0 {
            return Some(0.0);
        }
        let cs = su1 * su2 + cu1 * cu2 * cl;
        let sigma = ss.atan2(cs);
        let sa = cu1 * cu2 * sl / ss;
        let csqa = 1.0 - sa * sa;
        let c2sm = cs - 2.0 * su1 * su2 / csqa;
        let c2sm = if c2sm.is_finite() { c2sm } else { 0.0 };
        let c = F / 16.0 * csqa * (4.0 + F * (4.0 - 3.0 * csqa));
        let previous = lambda;
        lambda =
            l + (1.0 - c) * F * sa * (sigma + c * ss * (c2sm + c * cs * (2.0 * c2sm * c2sm - 1.0)));
        if (lambda - previous).abs() <= 1e-12 {
            let usq = csqa * (A * A - B * B) / (B * B);
            let a = 1.0 + usq / 16384.0 * (4096.0 + usq * (-768.0 + usq * (320.0 - 175.0 * usq)));
            let b = usq / 1024.0 * (256.0 + usq * (-128.0 + usq * (74.0 - 47.0 * usq)));
            let ds = b
                * ss
                * (c2sm
                    + b / 4.0
                        * (cs * (-1.0 + 2.0 * c2sm * c2sm)
                            - b / 6.0
                                * c2sm
                                * (-3.0 + 4.0 * ss * ss)
                                * (-3.0 + 4.0 * c2sm * c2sm)));
            return Some(B * a * (sigma - ds));
        }
    }
    None
}

/// The DOPs of the used satellites' geometry (`fill_dop()`), from their
/// (PRN, azimuth, elevation): `None` with fewer than 4 or a singular
/// geometry.
fn geometry_dops(used: &[(u32, f64, f64)]) -> Option<Dops> {
    let mut prod = [[0.0f64; 4]; 4];
    let n = used.len();
    for &(_, az, el) in used {
        let (az, el) = (az.to_radians(), el.to_radians());
        let row = [az.sin() * el.cos(), az.cos() * el.cos(), el.sin(), 1.0];
        for (i, p) in prod.iter_mut().enumerate() {
            for (j, v) in p.iter_mut().enumerate() {
                *v += row.get(i).copied().unwrap_or(0.0) * row.get(j).copied().unwrap_or(0.0);
            }
        }
    }
    if n < 4 {
        return None;
    }
    let inv = invert(prod)?;
    let diag = |i: usize| inv.get(i).and_then(|r| r.get(i)).copied();
    let root = |v: f64| (v >= 0.0).then(|| v.sqrt());
    let (xx, yy, zz, tt) = (diag(0)?, diag(1)?, diag(2)?, diag(3)?);
    Some(Dops {
        x: root(xx),
        y: root(yy),
        t: root(tt),
        g: root(xx + yy + zz + tt),
    })
}

/// The inverse of a 4 × 4 matrix (Gauss–Jordan with partial pivoting);
/// `None` when it is singular.
fn invert(m: [[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut a = m;
    let mut inv = [[0.0f64; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        if let Some(v) = row.get_mut(i) {
            *v = 1.0;
        }
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| {
            let ax = a.get(x).and_then(|r| r.get(col)).map_or(0.0, |v| v.abs());
            let ay = a.get(y).and_then(|r| r.get(col)).map_or(0.0, |v| v.abs());
            ax.total_cmp(&ay)
        })?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = *a.get(col)?.get(col)?;
        if p.abs() < 1e-12 {
            return None;
        }
        let (arow, irow) = (*a.get(col)?, *inv.get(col)?);
        let (arow, irow) = (arow.map(|v| v / p), irow.map(|v| v / p));
        for r in 0..4 {
            let f = if r == col { 0.0 } else { *a.get(r)?.get(col)? };
            let (ar, ir) = (a.get_mut(r)?, inv.get_mut(r)?);
            if r == col {
                *ar = arow;
                *ir = irow;
                continue;
            }
            for k in 0..4 {
                *ar.get_mut(k)? -= f * arow.get(k)?;
                *ir.get_mut(k)? -= f * irow.get(k)?;
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sat(prn: u32, el: f64, az: f64, used: bool) -> SatelliteInfo {
        SatelliteInfo {
            prn,
            elevation_deg: Some(el),
            azimuth_deg: Some(az),
            used,
            ..Default::default()
        }
    }

    /// Vincenty's textbook case (Flinders Peak to Buninyong: 54972.271 m)
    /// and a short hop along a meridian.
    #[test]
    fn distances_on_the_ellipsoid() {
        let d = earth_distance(
            -(37.0 + 57.0 / 60.0 + 3.72030 / 3600.0),
            144.0 + 25.0 / 60.0 + 29.52440 / 3600.0,
            -(37.0 + 39.0 / 60.0 + 10.15610 / 3600.0),
            143.0 + 55.0 / 60.0 + 35.38390 / 3600.0,
        )
        .unwrap();
        assert!((d - 54_972.271).abs() < 0.01, "{d}");
        assert_eq!(earth_distance(47.0, 8.0, 47.0, 8.0), Some(0.0));
        let m = earth_distance(47.0, 8.0, 47.0001, 8.0).unwrap();
        assert!((m - 11.12).abs() < 0.01, "{m}");
    }

    #[test]
    fn inverse_of_a_known_matrix() {
        let m = [
            [4.0, 7.0, 2.0, 0.0],
            [3.0, 6.0, 1.0, 0.0],
            [2.0, 5.0, 3.0, 0.0],
            [0.0, 0.0, 0.0, 2.0],
        ];
        let inv = invert(m).unwrap();
        for (i, row) in m.iter().enumerate() {
            for j in 0..4 {
                let v: f64 = row.iter().zip(&inv).map(|(a, r)| a * r[j]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-12, "{i},{j}: {v}");
            }
        }
        assert!(invert([[1.0; 4]; 4]).is_none());
    }

    /// Four satellites in the four directions at the same elevation plus
    /// one overhead: east and north DOPs are equal; too few used
    /// satellites give none.
    #[test]
    fn dops_from_geometry_and_errors_from_the_previous_fix() {
        let mut fix = GpsFix {
            time: Some(prost_types::Timestamp {
                seconds: 100,
                nanos: 0,
            }),
            hdop: Some(1.0),
            sky: vec![
                sat(1, 30.0, 0.0, true),
                sat(2, 30.0, 90.0, true),
                sat(3, 30.0, 180.0, true),
                sat(4, 30.0, 270.0, true),
                sat(5, 90.0, 0.0, true),
            ],
            ..Default::default()
        };
        let d = sky_dops(&fix.sky).unwrap();
        let (xdop, ydop) = (d.x.unwrap(), d.y.unwrap());
        assert!((xdop - ydop).abs() < 1e-9 && xdop > 0.0, "{xdop} {ydop}");
        let dops = sky_dops(&fix.sky);
        let (e1, prev) = errors(&fix, dops, 3, Some(10.0), false, None);
        assert!((e1.epx.unwrap() - xdop * 15.0).abs() < 1e-9);
        assert_eq!((e1.eps, e1.epc), (None, None), "no previous fix");
        fix.time = Some(prost_types::Timestamp {
            seconds: 102,
            nanos: 0,
        });
        let (e2, _) = errors(&fix, dops, 3, Some(12.0), false, prev.as_ref());
        let m = e1.epx.unwrap().max(e1.epy.unwrap());
        assert!((e2.eps.unwrap() - 2.0 * m / 2.0).abs() < 1e-9);
        assert!((e2.epc.unwrap() - 11.0).abs() < 1e-9);
        for s in &mut fix.sky[1..] {
            s.used = false;
        }
        let dops = sky_dops(&fix.sky);
        assert_eq!(errors(&fix, dops, 3, None, false, None).0.epx, None);
    }

    /// Four satellites on the horizon in the four directions and one
    /// overhead: the inverse of the geometry's product is known in closed
    /// form (east and north 1/2, time 1/4, vertical 5/4).
    #[test]
    fn dops_of_a_known_geometry() {
        let sky = [
            sat(1, 0.0, 0.0, true),
            sat(2, 0.0, 90.0, true),
            sat(3, 0.0, 180.0, true),
            sat(4, 0.0, 270.0, true),
            sat(5, 90.0, 0.0, true),
        ];
        let d = sky_dops(&sky).unwrap();
        let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(near(d.x, 0.5f64.sqrt()), "{d:?}");
        assert!(near(d.y, 0.5f64.sqrt()), "{d:?}");
        assert!(near(d.t, 0.5), "{d:?}");
        assert!(near(d.g, 2.5f64.sqrt()), "{d:?}");
    }

    /// gpsd master's `SKY` reports of the shared NMEA captures (the
    /// `.chk` files of `../shared/testdata/gpsd/nmea`) against the DOPs
    /// computed from the satellites each lists. gpsd computes its DOPs
    /// per sentence, from the satellites merged so far, which the list a
    /// `SKY` shows does not always hold (multi-constellation receivers
    /// above all): 262 of the 556 reports with four used satellites agree
    /// on all four DOPs (0.01), every one of `neo-m8n.log`'s 22.
    #[test]
    fn dops_equal_gpsd_masters_from_the_same_satellites() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/gpsd/nmea"
        );
        let (mut total, mut alike, mut m8n) = (0, 0, (0, 0));
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "chk") {
                continue;
            }
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let Some(sats) = v["satellites"].as_array() else {
                    continue;
                };
                if v["class"] != "SKY" || v["xdop"].is_null() {
                    continue;
                }
                let sky: Vec<SatelliteInfo> = sats
                    .iter()
                    .map(|s| SatelliteInfo {
                        prn: s["PRN"].as_u64().unwrap_or(0) as u32,
                        elevation_deg: s["el"].as_f64(),
                        azimuth_deg: s["az"].as_f64(),
                        used: s["used"] == true,
                        ..Default::default()
                    })
                    .collect();
                let Some(d) = sky_dops(&sky) else { continue };
                let same = [(d.x, "xdop"), (d.y, "ydop"), (d.t, "tdop"), (d.g, "gdop")]
                    .iter()
                    .all(|(ours, k)| {
                        matches!((ours, v[*k].as_f64()), (Some(a), Some(b)) if (a - b).abs() <= 0.011)
                    });
                total += 1;
                alike += usize::from(same);
                if path.ends_with("neo-m8n.log.chk") {
                    m8n = (m8n.0 + usize::from(same), m8n.1 + 1);
                }
            }
        }
        assert!(total >= 500, "{total} SKY reports with DOPs");
        assert!(alike * 100 >= total * 45, "{alike} of {total} alike");
        assert!(m8n.1 > 0 && m8n.0 == m8n.1, "neo-m8n: {m8n:?}");
    }

    /// The DOPs a `Geometry` keeps are those of its latest sky view,
    /// whether it computed them again or found the geometry unchanged.
    #[test]
    fn geometry_recomputes_only_what_changed() {
        let mut sky = vec![
            sat(1, 30.0, 0.0, true),
            sat(2, 30.0, 90.0, true),
            sat(3, 30.0, 180.0, true),
            sat(4, 30.0, 270.0, true),
            sat(5, 90.0, 0.0, true),
            sat(6, 10.0, 45.0, false),
        ];
        let mut g = Geometry::default();
        assert_eq!(g.dops(), None);
        let first = g.update(&sky);
        assert!(first.is_some());
        assert_eq!(first, sky_dops(&sky));
        // An unused satellite moving changes nothing.
        sky[5].azimuth_deg = Some(50.0);
        assert_eq!(g.update(&sky), first);
        // A used one moving, one more used, one fewer: new DOPs each time.
        for change in [
            |s: &mut Vec<SatelliteInfo>| s[0].elevation_deg = Some(40.0),
            |s: &mut Vec<SatelliteInfo>| s[5].used = true,
            |s: &mut Vec<SatelliteInfo>| s[1].used = false,
            |s: &mut Vec<SatelliteInfo>| s.truncate(3),
        ] {
            let before = g.dops();
            change(&mut sky);
            let now = g.update(&sky);
            assert_eq!(now, sky_dops(&sky));
            assert_ne!(now, before);
            assert_eq!(g.dops(), now);
        }
        // Too few now: none, and none kept.
        assert_eq!(g.dops(), None);
    }
}
