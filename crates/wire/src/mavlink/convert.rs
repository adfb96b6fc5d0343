//! MAVLink messages → readings. Every MAVLink "unknown" marker becomes an
//! absent field, never a number.

use std::time::{Duration, UNIX_EPOCH};

use dronetel_proto::v1::{
    BatteryChargeState, BatteryMode, BatterySource, BatteryState, FixMode, FixQuality, GpsFix,
    VehicleStatus,
};
use mavlink::{MavHeader, MavlinkVersion};

use super::common::{
    GpsFixType, MavAutopilot, MavBatteryChargeState, MavBatteryMode, MavMessage, MavModeFlag,
    BATTERY_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GPS_RAW_INT_DATA, HEARTBEAT_DATA,
    SYS_STATUS_DATA,
};
use crate::Reading;

/// Smallest `GPS_RAW_INT.time_usec` taken as UNIX time (2001-09-09); smaller
/// values are time since boot and give no fix time.
const UNIX_TIME_MIN_US: u64 = 1_000_000_000_000_000;

/// Converts one parsed message; `None` for a valid message the daemon does
/// not use.
pub fn convert(header: &MavHeader, version: MavlinkVersion, msg: &MavMessage) -> Option<Reading> {
    let r = match msg {
        MavMessage::HEARTBEAT(h) => Reading::Vehicle(vehicle(header, version, h)?),
        MavMessage::SYS_STATUS(s) => Reading::Battery(sys_status(s)),
        MavMessage::BATTERY_STATUS(b) => Reading::Battery(battery_status(b)),
        MavMessage::GPS_RAW_INT(g) => Reading::Gps(gps_raw(g)),
        MavMessage::GLOBAL_POSITION_INT(g) => Reading::Gps(global_position(g)),
        _ => return None,
    };
    Some(r)
}

/// HEARTBEAT of an autopilot → vehicle status; heartbeats of components
/// that are not autopilots (ground stations, cameras) → `None`.
fn vehicle(
    header: &MavHeader,
    version: MavlinkVersion,
    h: &HEARTBEAT_DATA,
) -> Option<VehicleStatus> {
    if h.autopilot == MavAutopilot::MAV_AUTOPILOT_INVALID {
        return None;
    }
    Some(VehicleStatus {
        system_id: header.system_id,
        component_id: u32::from(header.component_id),
        autopilot: h.autopilot as u32,
        vehicle_type: h.mavtype as u32,
        armed: h
            .base_mode
            .contains(MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED),
        system_status: h.system_status as u32,
        custom_mode: h.custom_mode,
        mavlink_version: match version {
            MavlinkVersion::V1 => 1,
            MavlinkVersion::V2 => 2,
        },
    })
}

/// `v` unless it is the `unknown` marker.
fn known<T: PartialEq>(v: T, unknown: T) -> Option<T> {
    (v != unknown).then_some(v)
}

/// SYS_STATUS: main battery voltage (mV, UINT16_MAX unknown), current (cA,
/// -1 unknown), remaining (%, -1 unknown).
pub fn sys_status(s: &SYS_STATUS_DATA) -> BatteryState {
    BatteryState {
        battery_id: 0,
        voltage_v: known(s.voltage_battery, u16::MAX).map(|mv| f64::from(mv) / 1000.0),
        current_a: known(s.current_battery, -1).map(|ca| f64::from(ca) / 100.0),
        remaining_percent: known(s.battery_remaining, -1).map(f64::from),
        source: BatterySource::SysStatus as i32,
        ..BatteryState::default()
    }
}

/// BATTERY_STATUS: one battery instance. Cells 1–10 end at the first
/// UINT16_MAX; the extension cells 11–14 follow only when all of 1–10 are
/// present and end at the first 0 (the spec's "not supported").
pub fn battery_status(b: &BATTERY_STATUS_DATA) -> BatteryState {
    let mut cells: Vec<f64> = b
        .voltages
        .iter()
        .take_while(|&&mv| mv != u16::MAX)
        .map(|&mv| f64::from(mv) / 1000.0)
        .collect();
    if cells.len() == b.voltages.len() {
        cells.extend(
            b.voltages_ext
                .iter()
                .take_while(|&&mv| mv != 0)
                .map(|&mv| f64::from(mv) / 1000.0),
        );
    }
    let voltage_v = (!cells.is_empty()).then(|| round_mv(cells.iter().sum()));
    BatteryState {
        battery_id: u32::from(b.id),
        voltage_v,
        current_a: known(b.current_battery, -1).map(|ca| f64::from(ca) / 100.0),
        remaining_percent: known(b.battery_remaining, -1).map(f64::from),
        consumed_mah: known(b.current_consumed, -1).map(f64::from),
        consumed_wh: known(b.energy_consumed, -1).map(|hj| f64::from(hj) * 100.0 / 3600.0),
        temperature_c: known(b.temperature, i16::MAX).map(|cd| f64::from(cd) / 100.0),
        cell_voltages_v: cells,
        time_remaining_s: known(b.time_remaining, 0),
        charge_state: charge_state(b.charge_state) as i32,
        mode: match b.mode {
            MavBatteryMode::MAV_BATTERY_MODE_AUTO_DISCHARGING => BatteryMode::AutoDischarging,
            MavBatteryMode::MAV_BATTERY_MODE_HOT_SWAP => BatteryMode::HotSwap,
            _ => BatteryMode::Unspecified,
        } as i32,
        fault_flags: b.fault_bitmask.bits(),
        source: BatterySource::BatteryStatus as i32,
    }
}

/// A sum of millivolt values, rounded back to whole millivolts.
fn round_mv(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn charge_state(s: MavBatteryChargeState) -> BatteryChargeState {
    use MavBatteryChargeState as M;
    match s {
        M::MAV_BATTERY_CHARGE_STATE_UNDEFINED => BatteryChargeState::Unspecified,
        M::MAV_BATTERY_CHARGE_STATE_OK => BatteryChargeState::Ok,
        M::MAV_BATTERY_CHARGE_STATE_LOW => BatteryChargeState::Low,
        M::MAV_BATTERY_CHARGE_STATE_CRITICAL => BatteryChargeState::Critical,
        M::MAV_BATTERY_CHARGE_STATE_EMERGENCY => BatteryChargeState::Emergency,
        M::MAV_BATTERY_CHARGE_STATE_FAILED => BatteryChargeState::Failed,
        M::MAV_BATTERY_CHARGE_STATE_UNHEALTHY => BatteryChargeState::Unhealthy,
        M::MAV_BATTERY_CHARGE_STATE_CHARGING => BatteryChargeState::Charging,
    }
}

/// GPS_RAW_INT: the receiver's raw solution. `time_usec` gives the fix time
/// when it is UNIX time; eph/epv (DOP × 100), vel (cm/s), cog (cdeg) and
/// satellites use UINT16_MAX / UINT8_MAX for unknown; the extension fields
/// (ellipsoid altitude, accuracies) are absent when 0 (not sent).
pub fn gps_raw(g: &GPS_RAW_INT_DATA) -> GpsFix {
    let (mode, quality) = fix_type(g.fix_type);
    let has_pos = matches!(mode, FixMode::FixMode2d | FixMode::FixMode3d);
    GpsFix {
        time: (g.time_usec >= UNIX_TIME_MIN_US).then(|| {
            dronetel_proto::time::timestamp(UNIX_EPOCH + Duration::from_micros(g.time_usec))
        }),
        mode: mode as i32,
        quality: quality as i32,
        latitude_deg: has_pos.then(|| f64::from(g.lat) / 1e7),
        longitude_deg: has_pos.then(|| f64::from(g.lon) / 1e7),
        altitude_msl_m: (mode == FixMode::FixMode3d).then(|| f64::from(g.alt) / 1000.0),
        altitude_hae_m: known(g.alt_ellipsoid, 0)
            .filter(|_| mode == FixMode::FixMode3d)
            .map(|mm| f64::from(mm) / 1000.0),
        speed_mps: known(g.vel, u16::MAX).map(|cm| f64::from(cm) / 100.0),
        course_deg: known(g.cog, u16::MAX).map(|cd| f64::from(cd) / 100.0),
        hdop: known(g.eph, u16::MAX).map(|d| f64::from(d) / 100.0),
        vdop: known(g.epv, u16::MAX).map(|d| f64::from(d) / 100.0),
        horizontal_error_m: known(g.h_acc, 0).map(|mm| f64::from(mm) / 1000.0),
        vertical_error_m: known(g.v_acc, 0).map(|mm| f64::from(mm) / 1000.0),
        satellites_visible: known(g.satellites_visible, u8::MAX).map(u32::from),
        cycle_end: "GPS_RAW_INT".to_owned(),
        ..GpsFix::default()
    }
}

fn fix_type(t: GpsFixType) -> (FixMode, FixQuality) {
    use GpsFixType as T;
    match t {
        T::GPS_FIX_TYPE_NO_GPS => (FixMode::Unspecified, FixQuality::Unspecified),
        T::GPS_FIX_TYPE_NO_FIX => (FixMode::NoFix, FixQuality::Invalid),
        T::GPS_FIX_TYPE_2D_FIX => (FixMode::FixMode2d, FixQuality::Gps),
        T::GPS_FIX_TYPE_3D_FIX => (FixMode::FixMode3d, FixQuality::Gps),
        T::GPS_FIX_TYPE_DGPS => (FixMode::FixMode3d, FixQuality::Dgps),
        T::GPS_FIX_TYPE_RTK_FLOAT => (FixMode::FixMode3d, FixQuality::RtkFloat),
        T::GPS_FIX_TYPE_RTK_FIXED => (FixMode::FixMode3d, FixQuality::RtkFixed),
        T::GPS_FIX_TYPE_STATIC => (FixMode::FixMode3d, FixQuality::Gps),
        T::GPS_FIX_TYPE_PPP => (FixMode::FixMode3d, FixQuality::Pps),
    }
}

/// GLOBAL_POSITION_INT: the autopilot's fused position. Ground speed and
/// course come from the NED velocity (cm/s), climb from its down part; no
/// fix time (the message carries time since boot only).
pub fn global_position(g: &GLOBAL_POSITION_INT_DATA) -> GpsFix {
    let (vn, ve) = (f64::from(g.vx) / 100.0, f64::from(g.vy) / 100.0);
    let speed = vn.hypot(ve);
    GpsFix {
        latitude_deg: Some(f64::from(g.lat) / 1e7),
        longitude_deg: Some(f64::from(g.lon) / 1e7),
        altitude_msl_m: Some(f64::from(g.alt) / 1000.0),
        speed_mps: Some(speed),
        course_deg: (speed > 0.0).then(|| ve.atan2(vn).to_degrees().rem_euclid(360.0)),
        climb_mps: Some(-f64::from(g.vz) / 100.0),
        cycle_end: "GLOBAL_POSITION_INT".to_owned(),
        ..GpsFix::default()
    }
}
