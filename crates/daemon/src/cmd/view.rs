//! One readable line per frame, shared by `dronetel tail` and `dronetel demo`.

use std::fmt::Write as _;

use dronetel_proto::v1::{
    frame::Body, BatterySource, BatteryState, FixMode, FixQuality, Frame, GpsFix, SensorHealth,
    SensorState, TrackingUpdate,
};

/// Formats a frame as one human-readable line (no trailing newline).
pub(crate) fn frame_line(frame: &Frame) -> String {
    let mut line = format!("{:>7} {:<10} ", frame.seq, frame.sensor);
    match &frame.body {
        Some(Body::Gps(fix)) => gps_line(&mut line, fix),
        Some(Body::Health(h)) => health_line(&mut line, h),
        Some(Body::Battery(b)) => battery_line(&mut line, b),
        Some(Body::Tracking(t)) => tracking_line(&mut line, t),
        Some(Body::Vehicle(v)) => {
            let _ = write!(
                line,
                "VEHICLE sys {} autopilot {} type {} {}",
                v.system_id,
                v.autopilot,
                v.vehicle_type,
                if v.armed { "ARMED" } else { "disarmed" }
            );
        }
        None => line.push_str("(empty frame)"),
    }
    line
}

/// Appends `pre`, the value with `prec` decimals and `post`, when the value is known.
fn opt(line: &mut String, pre: &str, v: Option<f64>, prec: usize, post: &str) {
    if let Some(v) = v {
        let _ = write!(line, "{pre}{v:.prec$}{post}");
    }
}

fn gps_line(line: &mut String, fix: &GpsFix) {
    // A position without a fix mode (MAVLink GLOBAL_POSITION_INT, the
    // autopilot's fused estimate) is shown as such, not as an unknown fix.
    let mode = match FixMode::try_from(fix.mode).unwrap_or_default() {
        FixMode::FixMode3d => "FIX 3D",
        FixMode::FixMode2d => "FIX 2D",
        FixMode::NoFix => "FIX NO FIX",
        FixMode::Unspecified => "POSITION",
    };
    let quality = match FixQuality::try_from(fix.quality).unwrap_or_default() {
        FixQuality::Unspecified => "",
        FixQuality::Invalid => " invalid",
        FixQuality::Gps => " GPS",
        FixQuality::Dgps => " DGPS",
        FixQuality::Pps => " PPS",
        FixQuality::RtkFixed => " RTK-fixed",
        FixQuality::RtkFloat => " RTK-float",
        FixQuality::DeadReckoning => " DR",
        FixQuality::Manual => " manual",
        FixQuality::Simulation => " sim",
    };
    let _ = write!(line, "{mode}{quality}");
    if let (Some(lat), Some(lon)) = (fix.latitude_deg, fix.longitude_deg) {
        let _ = write!(line, "  {lat:.7} {lon:.7}");
    }
    opt(line, "  alt ", fix.altitude_msl_m, 1, " m");
    opt(line, "  ", fix.speed_mps, 1, " m/s");
    opt(line, "  ", fix.course_deg, 1, "°");
    opt(line, "  climb ", fix.climb_mps, 1, " m/s");
    match (fix.satellites_used, fix.satellites_visible) {
        (Some(u), Some(v)) => {
            let _ = write!(line, "  sats {u}/{v}");
        }
        (Some(u), None) => {
            let _ = write!(line, "  sats {u}");
        }
        _ => {}
    }
    opt(line, "  hdop ", fix.hdop, 1, "");
    opt(line, "  ±", fix.horizontal_error_m, 1, " m");
    if let Some(t) = &fix.time {
        let secs = t.seconds.rem_euclid(86_400);
        let _ = write!(
            line,
            "  {:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            t.nanos / 1_000_000
        );
    }
}

fn battery_line(line: &mut String, b: &BatteryState) {
    let source = match BatterySource::try_from(b.source).unwrap_or_default() {
        BatterySource::SysStatus => "sys",
        BatterySource::BatteryStatus => "bat",
        BatterySource::Unspecified => "?",
    };
    let _ = write!(line, "BATTERY {} ({source})", b.battery_id);
    opt(line, "  ", b.voltage_v, 2, " V");
    opt(line, "  ", b.current_a, 1, " A");
    opt(line, "  ", b.remaining_percent, 0, "%");
    if !b.cell_voltages_v.is_empty() {
        let cells: Vec<String> = b
            .cell_voltages_v
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect();
        let _ = write!(line, "  cells {}", cells.join("/"));
    }
    opt(line, "  used ", b.consumed_mah, 0, " mAh");
    opt(line, "  ", b.temperature_c, 1, " °C");
    if let Some(t) = b.time_remaining_s {
        let _ = write!(line, "  {}:{:02} left", t / 60, t % 60);
    }
    if b.fault_flags != 0 {
        let _ = write!(line, "  FAULTS 0x{:x}", b.fault_flags);
    }
}

fn tracking_line(line: &mut String, t: &TrackingUpdate) {
    let _ = write!(
        line,
        "TRACKING frame {}  {} objects",
        t.sensor_frame,
        t.objects.len()
    );
    for o in t.objects.iter().take(4) {
        let _ = write!(
            line,
            "  #{} {} {:.0}%",
            o.track_id,
            o.label,
            o.confidence * 100.0
        );
        opt(line, " ", o.range_m, 0, " m");
    }
    if let Some(l) = &t.latency {
        let _ = write!(
            line,
            "  latency {:.1} ms",
            l.seconds as f64 * 1e3 + f64::from(l.nanos) * 1e-6
        );
    }
    if t.dropped_frames > 0 {
        let _ = write!(line, "  dropped {}", t.dropped_frames);
    }
}

fn health_line(line: &mut String, h: &SensorHealth) {
    let state = match SensorState::try_from(h.state).unwrap_or_default() {
        SensorState::Unspecified => "?",
        SensorState::Starting => "STARTING",
        SensorState::Online => "ONLINE",
        SensorState::Stale => "STALE",
        SensorState::Disconnected => "DISCONNECTED",
    };
    let _ = write!(
        line,
        "HEALTH {state}  msgs {}  bytes {}  checksum-err {}  framing-err {}  reopens {}",
        h.messages_ok, h.bytes_read, h.checksum_errors, h.framing_errors, h.reopen_count
    );
    if let Some(age) = &h.last_message_age {
        let _ = write!(
            line,
            "  age {:.1} s",
            age.seconds as f64 + f64::from(age.nanos) * 1e-9
        );
    }
    if !h.last_error.is_empty() {
        let _ = write!(line, "  ({})", h.last_error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_line_shows_position_and_leaves_out_unknowns() {
        let f = Frame {
            seq: 42,
            sensor: "gps".into(),
            received_at: None,
            body: Some(Body::Gps(GpsFix {
                mode: FixMode::FixMode3d as i32,
                quality: FixQuality::Gps as i32,
                latitude_deg: Some(47.397_742_1),
                longitude_deg: Some(8.545_594),
                altitude_msl_m: Some(488.25),
                satellites_used: Some(14),
                time: Some(prost_types::Timestamp {
                    seconds: 3600 + 60 + 1,
                    nanos: 200_000_000,
                }),
                ..Default::default()
            })),
        };
        let line = frame_line(&f);
        assert!(line.contains("FIX 3D GPS"), "{line}");
        assert!(line.contains("47.3977421 8.5455940"), "{line}");
        assert!(
            line.contains("alt 488.2 m") || line.contains("alt 488.3 m"),
            "{line}"
        );
        assert!(line.contains("sats 14"), "{line}");
        assert!(line.contains("01:01:01.200Z"), "{line}");
        assert!(
            !line.contains("m/s"),
            "speed unknown, must be absent: {line}"
        );
    }

    #[test]
    fn a_position_without_fix_mode_is_labelled_position() {
        let f = Frame {
            seq: 2,
            sensor: "fc".into(),
            received_at: None,
            body: Some(Body::Gps(GpsFix {
                latitude_deg: Some(47.5),
                longitude_deg: Some(8.5),
                ..Default::default()
            })),
        };
        let line = frame_line(&f);
        assert!(line.contains("POSITION  47.5000000 8.5000000"), "{line}");
        assert!(!line.contains("FIX"), "{line}");
    }

    #[test]
    fn battery_and_tracking_lines_show_what_is_known() {
        let b = Frame {
            seq: 7,
            sensor: "fc".into(),
            received_at: None,
            body: Some(Body::Battery(BatteryState {
                battery_id: 1,
                voltage_v: Some(15.2),
                cell_voltages_v: vec![3.8, 3.8, 3.8, 3.8],
                source: BatterySource::BatteryStatus as i32,
                ..Default::default()
            })),
        };
        let line = frame_line(&b);
        assert!(
            line.contains("BATTERY 1 (bat)  15.20 V  cells 3.80/3.80/3.80/3.80"),
            "{line}"
        );
        assert!(
            !line.contains(" A") && !line.contains('%'),
            "unknowns absent: {line}"
        );
        let t = Frame {
            seq: 8,
            sensor: "tracker".into(),
            received_at: None,
            body: Some(Body::Tracking(TrackingUpdate {
                sensor_frame: 99,
                objects: vec![dronetel_proto::v1::TrackedObject {
                    track_id: 4,
                    label: "car".into(),
                    confidence: 0.9,
                    range_m: Some(31.0),
                    ..Default::default()
                }],
                dropped_frames: 2,
                ..Default::default()
            })),
        };
        let line = frame_line(&t);
        assert!(
            line.contains("TRACKING frame 99  1 objects  #4 car 90% 31 m  dropped 2"),
            "{line}"
        );
    }

    #[test]
    fn health_line_names_state_and_error() {
        let f = Frame {
            seq: 1,
            sensor: "gps".into(),
            received_at: None,
            body: Some(Body::Health(SensorHealth {
                state: SensorState::Disconnected as i32,
                last_error: "No such file or directory".into(),
                reopen_count: 3,
                ..Default::default()
            })),
        };
        let line = frame_line(&f);
        assert!(line.contains("HEALTH DISCONNECTED"), "{line}");
        assert!(line.contains("reopens 3"), "{line}");
        assert!(line.contains("No such file"), "{line}");
    }
}
