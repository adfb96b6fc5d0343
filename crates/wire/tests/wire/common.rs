//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::BytesMut;
use dronetel_proto::v1::{
    BatteryChargeState, BatteryMode, BatterySource, Constellation, FixMode, FixQuality, GpsFix,
};
use dronetel_wire::nmea::{NmeaDecoder, NmeaOptions};
use dronetel_wire::{Reading, SensorDecoder, Stats};
use tokio_util::codec::Decoder;

/// Feeds `input` in chunks of `chunk` bytes, then ends the stream.
pub(crate) fn decode_chunked(
    opts: &NmeaOptions,
    input: &[u8],
    chunk: usize,
) -> (Vec<GpsFix>, Stats) {
    decode_with(NmeaDecoder::new(opts.clone()), input, chunk)
}

/// Feeds `input` whole, without ending the stream.
pub(crate) fn decode_open(dec: &mut NmeaDecoder, input: &[u8]) -> Vec<GpsFix> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(Reading::Gps(f)) = dec.decode(&mut buf).unwrap() {
        out.push(f);
    }
    out
}

/// `$body*hh\r\n` with a correct checksum.
pub(crate) fn sentence(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{sum:02X}\r\n")
}

/// Seconds of day (with fraction) of a fix's time.
pub(crate) fn time_of_day(f: &GpsFix) -> Option<f64> {
    f.time
        .as_ref()
        .map(|t| (t.seconds.rem_euclid(86_400)) as f64 + f64::from(t.nanos) * 1e-9)
}

/// Feeds `input` to any sensor decoder in chunks of `chunk` bytes, then
/// ends the stream; checks the input buffer is always consumed (which
/// bounds it).
pub(crate) fn decode_with<D: SensorDecoder>(
    mut dec: D,
    input: &[u8],
    chunk: usize,
) -> (Vec<GpsFix>, Stats) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(Reading::Gps(f)) = dec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        assert!(buf.is_empty(), "the decoder left {} bytes", buf.len());
    }
    while let Some(Reading::Gps(f)) = dec.decode_eof(&mut buf).unwrap() {
        out.push(f);
    }
    (out, dec.stats())
}

/// Everything `decoder` makes of `input`: decoded readings, the end of the
/// stream, and a held-back reading released by the idle flush.
pub(crate) fn decode_stream<D: SensorDecoder>(mut decoder: D, input: &[u8]) -> Vec<Reading> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    decoder.decode_all(&mut buf, &mut out);
    while let Some(r) = decoder.decode_eof(&mut buf).unwrap() {
        out.push(r);
    }
    out.extend(decoder.flush_idle());
    out
}

/// What the daemon publishes of `readings` (the value contract applied, as
/// its sensor task does) and how many values the contract removed.
pub(crate) fn published(readings: Vec<Reading>) -> (Vec<Reading>, u32) {
    let mut removed = 0;
    let mut out = Vec::new();
    for r in readings {
        let e = dronetel_wire::contract::enforce(r);
        removed += e.invalid;
        out.extend(e.reading);
    }
    (out, removed)
}

/// Asserts that every value of `r` lies in the range `proto/telemetry.proto`
/// documents for it. Written out field by field, independently of the
/// contract's own table, so a wrong row there is caught here.
pub(crate) fn assert_in_contract(r: &Reading) {
    match r {
        Reading::Gps(f) => {
            assert_timestamp(f.time.as_ref(), "time");
            assert!(FixMode::try_from(f.mode).is_ok(), "mode {}", f.mode);
            assert!(
                FixQuality::try_from(f.quality).is_ok(),
                "quality {}",
                f.quality
            );
            within(f.latitude_deg, -90.0, 90.0, "latitude_deg");
            within(f.longitude_deg, -180.0, 180.0, "longitude_deg");
            within(f.altitude_msl_m, -1000.0, 100_000.0, "altitude_msl_m");
            within(f.altitude_hae_m, -1000.0, 100_000.0, "altitude_hae_m");
            within(f.geoid_separation_m, -200.0, 200.0, "geoid_separation_m");
            within(f.speed_mps, 0.0, 1000.0, "speed_mps");
            below(f.course_deg, 0.0, 360.0, "course_deg");
            within(f.climb_mps, -1000.0, 1000.0, "climb_mps");
            for (v, name) in [(f.hdop, "hdop"), (f.vdop, "vdop"), (f.pdop, "pdop")] {
                within(v, 0.0, 100.0, name);
            }
            within(f.horizontal_error_m, 0.0, 1e7, "horizontal_error_m");
            within(f.vertical_error_m, 0.0, 1e7, "vertical_error_m");
            within(
                f.satellites_used.map(f64::from),
                0.0,
                255.0,
                "satellites_used",
            );
            within(
                f.satellites_visible.map(f64::from),
                0.0,
                255.0,
                "satellites_visible",
            );
            assert!(f.talker.len() <= 2, "talker {:?}", f.talker);
            assert!(f.cycle_end.len() <= 32, "cycle_end {:?}", f.cycle_end);
            within(f.velocity_north_mps, -1000.0, 1000.0, "velocity_north_mps");
            within(f.velocity_east_mps, -1000.0, 1000.0, "velocity_east_mps");
            within(f.velocity_down_mps, -1000.0, 1000.0, "velocity_down_mps");
            within(f.speed_error_mps, 0.0, 1000.0, "speed_error_mps");
            within(f.course_error_deg, 0.0, 360.0, "course_error_deg");
            within(f.position_error_3d_m, 0.0, 1e7, "position_error_3d_m");
            for s in &f.sky {
                assert!(Constellation::try_from(s.constellation).is_ok());
                within(Some(f64::from(s.prn)), 1.0, 999.0, "prn");
                within(s.elevation_deg, -90.0, 90.0, "sky elevation_deg");
                below(s.azimuth_deg, 0.0, 360.0, "azimuth_deg");
                within(s.snr_dbhz, 0.0, 99.0, "snr_dbhz");
                within(s.signal_id.map(f64::from), 0.0, 15.0, "signal_id");
            }
        }
        Reading::Battery(b) => {
            within(Some(f64::from(b.battery_id)), 0.0, 255.0, "battery_id");
            within(b.voltage_v, 0.0, 1000.0, "voltage_v");
            within(b.current_a, -1000.0, 1000.0, "current_a");
            within(b.remaining_percent, 0.0, 100.0, "remaining_percent");
            within(b.consumed_mah, 0.0, f64::MAX, "consumed_mah");
            within(b.consumed_wh, 0.0, f64::MAX, "consumed_wh");
            within(b.temperature_c, -273.15, 1000.0, "temperature_c");
            for &c in &b.cell_voltages_v {
                within(Some(c), 0.0, 100.0, "cell_voltages_v");
            }
            within(
                b.time_remaining_s.map(f64::from),
                0.0,
                f64::MAX,
                "time_remaining_s",
            );
            assert!(BatteryChargeState::try_from(b.charge_state).is_ok());
            assert!(BatteryMode::try_from(b.mode).is_ok());
            assert!(BatterySource::try_from(b.source).is_ok());
        }
        Reading::Tracking(t) => {
            assert_timestamp(t.captured_at.as_ref(), "captured_at");
            if let Some(d) = &t.latency {
                let ok = (0..=315_576_000_000).contains(&d.seconds)
                    && (0..=999_999_999).contains(&d.nanos);
                assert!(ok, "latency {d:?}");
            }
            for o in &t.objects {
                assert!(o.label.len() <= 32, "label of {} bytes", o.label.len());
                within(Some(o.confidence), 0.0, 1.0, "confidence");
                for (v, name) in [
                    (o.bbox_x, "x"),
                    (o.bbox_y, "y"),
                    (o.bbox_w, "w"),
                    (o.bbox_h, "h"),
                ] {
                    within(Some(v), 0.0, 1.0, name);
                }
                within(o.range_m, 0.0, f64::MAX, "range_m");
                within(o.bearing_deg, -180.0, 180.0, "bearing_deg");
                within(o.elevation_deg, -90.0, 90.0, "object elevation_deg");
                for v in [o.velocity_x_mps, o.velocity_y_mps, o.velocity_z_mps] {
                    within(v, -1000.0, 1000.0, "velocity");
                }
            }
        }
        Reading::Vehicle(v) => {
            within(Some(f64::from(v.system_id)), 1.0, 255.0, "system_id");
            for (x, name) in [
                (v.component_id, "component_id"),
                (v.autopilot, "autopilot"),
                (v.vehicle_type, "vehicle_type"),
                (v.system_status, "system_status"),
            ] {
                within(Some(f64::from(x)), 0.0, 255.0, name);
            }
            within(
                Some(f64::from(v.mavlink_version)),
                1.0,
                2.0,
                "mavlink_version",
            );
        }
    }
}

/// `v`, when present, is in `[lo, hi]` (so also neither NaN nor infinite).
fn within(v: Option<f64>, lo: f64, hi: f64, name: &str) {
    if let Some(v) = v {
        assert!(v >= lo && v <= hi, "{name} = {v} outside [{lo}, {hi}]");
    }
}

/// `v`, when present, is in `[lo, hi)`.
fn below(v: Option<f64>, lo: f64, hi: f64, name: &str) {
    if let Some(v) = v {
        assert!(v >= lo && v < hi, "{name} = {v} outside [{lo}, {hi})");
    }
}

/// `t`, when present, is inside 0001-01-01T00:00:00Z..=9999-12-31T23:59:59.999999999Z.
fn assert_timestamp(t: Option<&prost_types::Timestamp>, name: &str) {
    if let Some(t) = t {
        let ok = (-62_135_596_800..=253_402_300_799).contains(&t.seconds)
            && (0..=999_999_999).contains(&t.nanos);
        assert!(ok, "{name} {t:?} outside protobuf's Timestamp range");
    }
}

/// Milliseconds since the Unix epoch of "2014-12-31T03:07:19.000Z".
pub(crate) fn ms_of_iso(s: &str) -> Option<i64> {
    let (date, _) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    // Days from civil (Howard Hinnant), independent of the decoder's.
    let yy = y - i64::from(mo <= 2);
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + da - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400_000 + tod_ms_of_iso(s)?)
}

/// Milliseconds since midnight of gpsd's "2014-12-31T03:07:19.000Z".
pub(crate) fn tod_ms_of_iso(s: &str) -> Option<i64> {
    let t = s.split('T').nth(1)?.trim_end_matches('Z');
    let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
    let mut it = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (it.next()??, it.next()??, it.next()??);
    let frac: String = frac.chars().chain("000".chars()).take(3).collect();
    Some(((h * 60 + m) * 60 + sec) * 1000 + frac.parse::<i64>().ok()?)
}
