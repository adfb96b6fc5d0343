//! The sentence encoders reproduce real receivers' sentences byte for byte.
#![allow(clippy::unwrap_used)]

use dronetel_proto::v1::{Constellation, FixMode, FixQuality, GpsFix, SatelliteInfo};
use dronetel_wire::nmea::encode::{self, checksum, NmeaStyle};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/gpsd/nmea"
);

/// The lines of a capture from the first line starting with `first` up to
/// (excluding) the next line starting with the same sentence address.
fn capture_cycle(file: &str, first: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{CAPTURES}/{file}")).unwrap();
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let start = lines.by_ref().find(|l| l.starts_with(first)).unwrap();
    let mut out = vec![start.to_string()];
    out.extend(
        lines
            .take_while(|l| !l.starts_with(&first[..6]))
            .map(str::to_string),
    );
    out
}

fn lines_of(bytes: &[u8]) -> Vec<String> {
    let s = std::str::from_utf8(bytes).unwrap();
    assert!(s.ends_with("\r\n"), "every sentence ends with CRLF: {s:?}");
    s.split_terminator("\r\n").map(str::to_string).collect()
}

/// Asserts each sentence's checksum against an independent computation.
fn assert_checksums(bytes: &[u8]) {
    for line in lines_of(bytes) {
        let (body, sum) = line[1..].split_once('*').unwrap();
        let expect = body.bytes().fold(0u8, |a, b| a ^ b);
        assert_eq!(u8::from_str_radix(sum, 16).unwrap(), expect, "{line}");
        assert_eq!(checksum(body.as_bytes()), expect);
    }
}

/// GSA lists used satellites in the receiver's channel order, which a
/// `GpsFix` does not keep: sort the PRN fields (the checksum, a XOR, is
/// unchanged by the order) so lines compare by content.
fn normalized(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            if &l[3..6] != "GSA" {
                return l.clone();
            }
            let (body, sum) = l.split_once('*').unwrap();
            let mut f: Vec<&str> = body.split(',').collect();
            let mut prns: Vec<&str> = f[3..15].iter().copied().filter(|p| !p.is_empty()).collect();
            prns.sort_unstable();
            prns.resize(12, "");
            f.splice(3..15, prns);
            format!("{}*{sum}", f.join(","))
        })
        .collect()
}

fn field_list(line: &str) -> Vec<&str> {
    line.split('*').next().unwrap().split(',').collect()
}

/// The sky of a cycle rebuilt from its GSV and GSA lines.
fn sky_of(cycle: &[String]) -> Vec<SatelliteInfo> {
    let mut sky = Vec::new();
    for l in cycle.iter().filter(|l| &l[3..6] == "GSV") {
        let f = field_list(l);
        let constellation = match &l[1..3] {
            "GP" => Constellation::Gps,
            "GL" => Constellation::Glonass,
            "GA" => Constellation::Galileo,
            "GB" => Constellation::Beidou,
            other => panic!("talker {other}"),
        };
        let signal = if (f.len() - 4) % 4 == 1 {
            f.last().unwrap().parse().ok()
        } else {
            None
        };
        for q in f[4..].chunks_exact(4) {
            let num = |s: &str| s.parse::<f64>().ok();
            let mut s = SatelliteInfo {
                prn: q[0].parse().unwrap(),
                elevation_deg: num(q[1]),
                azimuth_deg: num(q[2]),
                snr_dbhz: num(q[3]),
                signal_id: signal,
                ..Default::default()
            };
            s.set_constellation(constellation);
            sky.push(s);
        }
    }
    for l in cycle.iter().filter(|l| &l[3..6] == "GSA") {
        let f = field_list(l);
        let sys = f.get(18).and_then(|s| s.parse::<u8>().ok());
        for prn in f[3..15].iter().filter_map(|p| p.parse::<u32>().ok()) {
            let sat = sky
                .iter_mut()
                .find(|s| {
                    s.prn == prn
                        && sys.is_none_or(|id| encode::system_id(s.constellation()) == Some(id))
                })
                .unwrap();
            sat.used = true;
        }
    }
    sky
}

fn fix(seconds: i64, lat: f64, lon: f64) -> GpsFix {
    let mut f = GpsFix {
        time: Some(prost_types::Timestamp { seconds, nanos: 0 }),
        latitude_deg: Some(lat),
        longitude_deg: Some(lon),
        ..Default::default()
    };
    f.set_mode(FixMode::FixMode3d);
    f.set_quality(FixQuality::Gps);
    f
}

#[test]
fn neo_m8n_cycle_reproduced_byte_exact() {
    let cycle = capture_cycle("neo-m8n.log", "$GNRMC,171926.00");
    // 2015-03-18T17:19:26Z, values as the sentences carry them.
    let mut f = fix(
        1_426_699_166,
        44.0 + 4.14063 / 60.0,
        -(121.0 + 18.85478 / 60.0),
    );
    // 0.1167 kn: written as 0.117 kn and 0.216 km/h, as the receiver did.
    f.speed_mps = Some(0.1167 * 1852.0 / 3600.0);
    f.satellites_used = Some(12);
    f.hdop = Some(0.91);
    f.vdop = Some(1.27);
    f.pdop = Some(1.56);
    f.altitude_msl_m = Some(1147.2);
    f.geoid_separation_m = Some(-21.3);
    f.sky = sky_of(&cycle);
    let style = NmeaStyle {
        latlon_decimals: 5,
        altitude_decimals: 1,
        nmea_4_10: false,
        ..NmeaStyle::default()
    };
    let mut out = Vec::new();
    encode::rmc(&mut out, &style, &f);
    encode::vtg(&mut out, &style, &f);
    encode::gga(&mut out, &style, &f);
    encode::gsa(&mut out, &style, &f, Some(Constellation::Gps));
    encode::gsa(&mut out, &style, &f, Some(Constellation::Glonass));
    encode::gsv(&mut out, &style, &f, Constellation::Gps);
    encode::gsv(&mut out, &style, &f, Constellation::Glonass);
    encode::gll(&mut out, &style, &f);
    assert_checksums(&out);
    assert_eq!(normalized(&lines_of(&out)), normalized(&cycle));
}

#[test]
fn neo_m9n_nmea_4_10_cycle_reproduced_byte_exact() {
    let cycle = capture_cycle("ublox-neo-m9n-nmea.log", "$GNRMC,223745.00");
    // 2020-07-11T22:37:45Z
    let mut f = fix(
        1_594_507_065,
        38.0 + 6.62964 / 60.0,
        -(122.0 + 37.61382 / 60.0),
    );
    f.set_quality(FixQuality::Dgps);
    f.speed_mps = Some(0.0403 * 1852.0 / 3600.0);
    f.hdop = Some(0.54);
    f.vdop = Some(0.83);
    f.pdop = Some(0.99);
    f.sky = sky_of(&cycle);
    let style = NmeaStyle {
        latlon_decimals: 5,
        altitude_decimals: 1,
        ..NmeaStyle::default()
    };
    let systems = [
        Constellation::Gps,
        Constellation::Glonass,
        Constellation::Galileo,
        Constellation::Beidou,
    ];
    let mut out = Vec::new();
    encode::rmc(&mut out, &style, &f);
    encode::vtg(&mut out, &style, &f);
    for c in systems {
        encode::gsa(&mut out, &style, &f, Some(c));
    }
    for c in systems {
        encode::gsv(&mut out, &style, &f, c);
    }
    encode::gll(&mut out, &style, &f);
    encode::zda(&mut out, &style, &f);
    assert_checksums(&out);
    // GGA (DGPS station field), GST and GBS carry values a GpsFix does not
    // hold; every other line of the cycle must match.
    let expect: Vec<String> = cycle
        .iter()
        .filter(|l| !["GGA", "GST", "GBS"].contains(&&l[3..6]))
        .cloned()
        .collect();
    assert_eq!(normalized(&lines_of(&out)), normalized(&expect));
}

#[test]
fn high_precision_coordinates_and_no_fix_fields() {
    let style = NmeaStyle::default();
    let lat = 44.0 + 4.130_602_4 / 60.0;
    let lon = -(121.0 + 18.844_677_7 / 60.0);
    let mut out = Vec::new();
    encode::gll(&mut out, &style, &fix(1_640_223_900, lat, lon));
    let line = &lines_of(&out)[0];
    assert!(
        line.starts_with("$GNGLL,4404.1306024,N,12118.8446777,W,014500.00,A,A*"),
        "{line}"
    );
    assert_eq!(
        encode::quantize_coordinate(lat + 1e-11, 7),
        encode::quantize_coordinate(lat, 7)
    );
    assert!((encode::quantize_coordinate(lat, 7) - lat).abs() < 1e-12);

    out.clear();
    let empty = GpsFix::default();
    encode::gga(&mut out, &style, &empty);
    encode::rmc(&mut out, &style, &empty);
    encode::gsa(&mut out, &style, &empty, Some(Constellation::Gps));
    encode::gsv(&mut out, &style, &empty, Constellation::Galileo);
    encode::zda(&mut out, &style, &empty);
    assert_checksums(&out);
    let lines = lines_of(&out);
    assert!(
        lines[0].starts_with("$GNGGA,,,,,,0,,,,M,,M,,*"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("$GNRMC,,V,,,,,,,,,,N,V*"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("$GNGSA,A,1,,,,,,,,,,,,,,,,1*"),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with("$GAGSV,1,1,00,1*"), "{}", lines[3]);
    assert!(lines[4].starts_with("$GNZDA,,,,,00,00*"), "{}", lines[4]);
}

#[test]
fn generic_writer_and_gst() {
    let mut out = Vec::new();
    encode::write_sentence(&mut out, b"GP", b"TXT", &[b"01", b"01", b"02", b"hello"]);
    let line = &lines_of(&out)[0];
    assert!(line.starts_with("$GPTXT,01,01,02,hello*"), "{line}");
    assert_checksums(&out);
    out.clear();
    let f = fix(1_594_507_065, 0.0, 0.0);
    let e = encode::GstErrors {
        rms: Some(2.5),
        major_m: Some(2.4),
        minor_m: None,
        orientation_deg: Some(126.0),
        lat_sd_m: Some(0.98),
        lon_sd_m: Some(1.0),
        alt_sd_m: Some(3.1),
    };
    let style = NmeaStyle {
        error_decimals: 1,
        ..NmeaStyle::default()
    };
    encode::gst(&mut out, &style, &f, &e);
    assert_checksums(&out);
    let line = &lines_of(&out)[0];
    assert!(
        line.starts_with("$GNGST,223745.00,2.5,2.4,,126.0,1.0,1.0,3.1*"),
        "{line}"
    );
}
