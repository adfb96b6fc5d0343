//! The simulated flight controller: the shared flight model and the
//! battery as MAVLink (common dialect, encoded with the `mavlink` crate),
//! and the [`FcTruth`] each tick carries.
//!
//! Schedule on a 10 Hz tick aligned to UTC: GPS_RAW_INT and
//! GLOBAL_POSITION_INT at 5 Hz (on the GPS receiver's epochs), SYS_STATUS at
//! 2 Hz (as MAVLink 1, so the link mixes versions), HEARTBEAT and
//! BATTERY_STATUS at 1 Hz.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronetel_proto::v1::{
    BatteryChargeState, BatterySource, BatteryState, FixMode, FixQuality, GpsFix, VehicleStatus,
};
use dronetel_wire::mavlink::common::{
    GpsFixType, MavAutopilot, MavBatteryChargeState, MavBatteryFault, MavBatteryFunction,
    MavBatteryType, MavMessage, MavModeFlag, MavState, MavType, BATTERY_STATUS_DATA,
    GLOBAL_POSITION_INT_DATA, GPS_RAW_INT_DATA, HEARTBEAT_DATA, SYS_STATUS_DATA,
};
use dronetel_wire::mavlink::encode;
use mavlink::{MavHeader, MavlinkVersion};

use crate::battery::{Battery, CELLS};
use crate::fault::{Foreign, Framing};
use crate::flight::FlightModel;
use crate::rng::SplitMix64;
use crate::Home;

/// Tick period of the flight controller.
pub(crate) const PERIOD: Duration = Duration::from_millis(100);
/// MAVLink system id of the simulated vehicle.
pub const SYSTEM_ID: u8 = 1;
/// GPS horizontal accuracy and HDOP the autopilot reports (fixed).
const H_ACC_MM: u32 = 1200;
const V_ACC_MM: u32 = 1800;
const EPH: u16 = 80;
const SATELLITES: u8 = 16;

/// What one flight-controller tick put on the wire, as a perfect decoder
/// reports it (MAVLink units, unknown markers as absent fields).
#[derive(Debug, Clone, PartialEq)]
pub struct FcTruth {
    /// The tick's time (UTC, on a 100 ms boundary).
    pub time: SystemTime,
    /// BatteryState of each SYS_STATUS / BATTERY_STATUS sent.
    pub battery: Vec<BatteryState>,
    /// GpsFix of each GPS_RAW_INT / GLOBAL_POSITION_INT sent.
    pub gps: Vec<GpsFix>,
    /// VehicleStatus of the HEARTBEAT, if one was sent.
    pub vehicle: Option<VehicleStatus>,
}

/// The simulated autopilot.
#[derive(Debug)]
pub(crate) struct FlightController {
    flight: FlightModel,
    battery: Battery,
    geoid_separation_m: f64,
    start: SystemTime,
    seq: u8,
}

impl FlightController {
    /// Same `home`, `seed` and `start` as the GPS receiver: same flight.
    pub(crate) fn new(home: Home, seed: u64, start: SystemTime) -> Self {
        let mut rng = SplitMix64::new(seed);
        let flight = FlightModel::new(home, &mut rng);
        let mut battery_rng = SplitMix64::new(seed ^ 0xba77);
        Self {
            flight,
            battery: Battery::new(&mut battery_rng),
            geoid_separation_m: home.geoid_separation_m,
            start,
            seq: 0,
        }
    }

    fn send(&mut self, version: MavlinkVersion, msg: &MavMessage, out: &mut Vec<u8>) {
        let header = MavHeader {
            system_id: u32::from(SYSTEM_ID),
            component_id: 1,
            sequence: self.seq,
        };
        self.seq = self.seq.wrapping_add(1);
        encode::frame(version, header, msg, out);
    }
}

impl crate::device::Source for FlightController {
    type Truth = FcTruth;

    fn cycle(&mut self, epoch: SystemTime, out: &mut Vec<u8>) -> FcTruth {
        let since = epoch.duration_since(UNIX_EPOCH).unwrap_or_default();
        let time = UNIX_EPOCH + Duration::from_millis(since.as_millis() as u64);
        let tick = since.as_millis() / PERIOD.as_millis();
        let t = time
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64();
        let state = self.flight.state(t);
        let bat = self.battery.step(t, &state);
        let mut truth = FcTruth {
            time,
            battery: Vec::new(),
            gps: Vec::new(),
            vehicle: None,
        };

        let cells_mv: Vec<u16> = bat
            .cells_v
            .iter()
            .map(|v| (v * 1000.0).round() as u16)
            .collect();
        let pack_mv: u32 = cells_mv.iter().map(|&c| u32::from(c)).sum();
        let current_ca = (bat.current_a * 100.0).round() as i16;
        let remaining = (bat.remaining * 100.0).round() as i8;

        if tick.is_multiple_of(10) {
            let base_mode = if bat.armed {
                MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED
                    | MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            } else {
                MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            };
            let status = if bat.armed {
                MavState::MAV_STATE_ACTIVE
            } else {
                MavState::MAV_STATE_STANDBY
            };
            let hb = HEARTBEAT_DATA {
                custom_mode: 0,
                mavtype: MavType::MAV_TYPE_QUADROTOR,
                autopilot: MavAutopilot::MAV_AUTOPILOT_PX4,
                base_mode,
                system_status: status,
                mavlink_version: 3,
            };
            self.send(MavlinkVersion::V2, &MavMessage::HEARTBEAT(hb), out);
            truth.vehicle = Some(VehicleStatus {
                system_id: u32::from(SYSTEM_ID),
                component_id: 1,
                autopilot: MavAutopilot::MAV_AUTOPILOT_PX4 as u32,
                vehicle_type: MavType::MAV_TYPE_QUADROTOR as u32,
                armed: bat.armed,
                system_status: status as u32,
                custom_mode: 0,
                mavlink_version: 2,
            });
        }
        if tick.is_multiple_of(2) {
            let lat = (state.lat_deg * 1e7).round() as i32;
            let lon = (state.lon_deg * 1e7).round() as i32;
            let alt_mm = (state.alt_msl_m * 1000.0).round() as i32;
            let sep_mm = (self.geoid_separation_m * 1000.0).round() as i32;
            let vel = (state.speed_mps * 100.0).round() as u16;
            let cog = state
                .course_deg
                .map(|c| ((c * 100.0).round() as u16) % 36000);
            let raw = GPS_RAW_INT_DATA {
                time_usec: since.as_micros() as u64 / 1000 * 1000,
                lat,
                lon,
                alt: alt_mm,
                eph: EPH,
                epv: u16::MAX,
                vel,
                cog: cog.unwrap_or(u16::MAX),
                fix_type: GpsFixType::GPS_FIX_TYPE_3D_FIX,
                satellites_visible: SATELLITES,
                alt_ellipsoid: alt_mm + sep_mm,
                h_acc: H_ACC_MM,
                v_acc: V_ACC_MM,
                ..GPS_RAW_INT_DATA::default()
            };
            self.send(MavlinkVersion::V2, &MavMessage::GPS_RAW_INT(raw), out);
            truth.gps.push(GpsFix {
                time: Some(dronetel_proto::time::timestamp(time)),
                mode: FixMode::FixMode3d as i32,
                quality: FixQuality::Gps as i32,
                latitude_deg: Some(f64::from(lat) / 1e7),
                longitude_deg: Some(f64::from(lon) / 1e7),
                altitude_msl_m: Some(f64::from(alt_mm) / 1000.0),
                altitude_hae_m: Some(f64::from(alt_mm + sep_mm) / 1000.0),
                speed_mps: Some(f64::from(vel) / 100.0),
                course_deg: cog.map(|c| f64::from(c) / 100.0),
                hdop: Some(f64::from(EPH) / 100.0),
                horizontal_error_m: Some(f64::from(H_ACC_MM) / 1000.0),
                vertical_error_m: Some(f64::from(V_ACC_MM) / 1000.0),
                satellites_visible: Some(u32::from(SATELLITES)),
                cycle_end: "GPS_RAW_INT".into(),
                ..GpsFix::default()
            });
            let course = state.course_deg.unwrap_or(0.0).to_radians();
            let vx = (state.speed_mps * course.cos() * 100.0).round() as i16;
            let vy = (state.speed_mps * course.sin() * 100.0).round() as i16;
            let vz = (-state.climb_mps * 100.0).round() as i16;
            let gp = GLOBAL_POSITION_INT_DATA {
                time_boot_ms: (t * 1000.0) as u32,
                lat,
                lon,
                alt: alt_mm,
                relative_alt: (state.agl_m * 1000.0).round() as i32,
                vx,
                vy,
                vz,
                hdg: cog.unwrap_or(u16::MAX),
            };
            self.send(
                MavlinkVersion::V2,
                &MavMessage::GLOBAL_POSITION_INT(gp),
                out,
            );
            let (n, e) = (f64::from(vx) / 100.0, f64::from(vy) / 100.0);
            let speed = n.hypot(e);
            truth.gps.push(GpsFix {
                latitude_deg: Some(f64::from(lat) / 1e7),
                longitude_deg: Some(f64::from(lon) / 1e7),
                altitude_msl_m: Some(f64::from(alt_mm) / 1000.0),
                speed_mps: Some(speed),
                course_deg: (speed > 0.0).then(|| e.atan2(n).to_degrees().rem_euclid(360.0)),
                climb_mps: Some(-f64::from(vz) / 100.0),
                cycle_end: "GLOBAL_POSITION_INT".into(),
                ..GpsFix::default()
            });
        }
        if tick.is_multiple_of(5) {
            let s = SYS_STATUS_DATA {
                voltage_battery: u16::try_from(pack_mv).unwrap_or(u16::MAX - 1),
                current_battery: current_ca,
                battery_remaining: remaining,
                ..SYS_STATUS_DATA::default()
            };
            self.send(MavlinkVersion::V1, &MavMessage::SYS_STATUS(s), out);
            truth.battery.push(BatteryState {
                battery_id: 0,
                voltage_v: Some(f64::from(pack_mv) / 1000.0),
                current_a: Some(f64::from(current_ca) / 100.0),
                remaining_percent: Some(f64::from(remaining)),
                source: BatterySource::SysStatus as i32,
                ..BatteryState::default()
            });
        }
        if tick % 10 == 5 {
            let mut voltages = [u16::MAX; 10];
            voltages[..CELLS].copy_from_slice(&cells_mv);
            let consumed = bat.consumed_mah.round() as i32;
            let energy_hj = (bat.consumed_wh * 36.0).round() as i32;
            let temp_cd = (bat.temperature_c * 100.0).round() as i16;
            let time_remaining = if bat.current_a > 1.0 {
                (5000.0 * bat.remaining / bat.current_a * 3.6).round() as i32
            } else {
                0
            };
            let (charge, charge_proto) = match remaining {
                r if r > 30 => (
                    MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_OK,
                    BatteryChargeState::Ok,
                ),
                r if r > 15 => (
                    MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_LOW,
                    BatteryChargeState::Low,
                ),
                r if r > 5 => (
                    MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_CRITICAL,
                    BatteryChargeState::Critical,
                ),
                _ => (
                    MavBatteryChargeState::MAV_BATTERY_CHARGE_STATE_EMERGENCY,
                    BatteryChargeState::Emergency,
                ),
            };
            let b = BATTERY_STATUS_DATA {
                id: 0,
                battery_function: MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
                mavtype: MavBatteryType::MAV_BATTERY_TYPE_LIPO,
                temperature: temp_cd,
                voltages,
                current_battery: current_ca,
                current_consumed: consumed,
                energy_consumed: energy_hj,
                battery_remaining: remaining,
                time_remaining,
                charge_state: charge,
                // The generated Default of a bitflags field is its first
                // flag (DEEP_DISCHARGE), not "no fault".
                fault_bitmask: MavBatteryFault::empty(),
                ..BATTERY_STATUS_DATA::default()
            };
            self.send(MavlinkVersion::V2, &MavMessage::BATTERY_STATUS(b), out);
            truth.battery.push(BatteryState {
                battery_id: 0,
                voltage_v: Some(f64::from(pack_mv) / 1000.0),
                current_a: Some(f64::from(current_ca) / 100.0),
                remaining_percent: Some(f64::from(remaining)),
                consumed_mah: Some(f64::from(consumed)),
                consumed_wh: Some(f64::from(energy_hj) * 100.0 / 3600.0),
                temperature_c: Some(f64::from(temp_cd) / 100.0),
                cell_voltages_v: cells_mv.iter().map(|&c| f64::from(c) / 1000.0).collect(),
                time_remaining_s: (time_remaining != 0).then_some(time_remaining),
                charge_state: charge_proto as i32,
                source: BatterySource::BatteryStatus as i32,
                ..BatteryState::default()
            });
        }
        truth
    }

    const FRAMING: Framing = Framing {
        head: 1,
        tail: 0,
        foreign: Foreign::Nmea,
    };

    fn messages(&self, out: &[u8]) -> Vec<Range<usize>> {
        // Frames found by walking their headers (the simulator's own
        // output: every frame is well-formed, unsigned).
        let mut frames = Vec::new();
        let mut i = 0;
        while i + 1 < out.len() {
            let len = usize::from(out[i + 1]);
            let end = i + match out[i] {
                0xfe => 8 + len,
                _ => 12 + len,
            };
            frames.push(i..end.min(out.len()));
            i = end;
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use dronetel_wire::mavlink::MavlinkDecoder;
    use dronetel_wire::{Reading, SensorDecoder};

    use super::*;
    use crate::device::Source;

    /// Every tick of a whole sortie decodes, with the daemon's decoder, to
    /// exactly the truth the tick carried.
    #[test]
    fn every_tick_of_a_sortie_decodes_to_its_truth() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut fc = FlightController::new(Home::default(), 5, start);
        let ticks = (fc.flight.sortie_s() * 10.0) as u64;
        let mut decoder = MavlinkDecoder::default();
        let mut buf = BytesMut::new();
        let (mut armed, mut batteries) = (0, 0);
        let mut first_v = None;
        let mut last_v = None;
        for k in 0..ticks {
            let mut out = Vec::new();
            let truth = fc.cycle(start + PERIOD * k as u32, &mut out);
            let frames = fc.messages(&out);
            assert_eq!(
                frames.len(),
                truth.battery.len() + truth.gps.len() + usize::from(truth.vehicle.is_some())
            );
            assert_eq!(frames.last().map_or(0, |f| f.end), out.len());
            buf.extend_from_slice(&out);
            let mut got = Vec::new();
            decoder.decode_all(&mut buf, &mut got);
            let mut want: Vec<Reading> = Vec::new();
            // Wire order: heartbeat, GPS pair, SYS_STATUS, BATTERY_STATUS.
            want.extend(truth.vehicle.map(Reading::Vehicle));
            want.extend(truth.gps.iter().cloned().map(Reading::Gps));
            want.extend(truth.battery.iter().cloned().map(Reading::Battery));
            assert_eq!(got, want, "tick {k}");
            armed += usize::from(truth.vehicle.as_ref().is_some_and(|v| v.armed));
            for b in &truth.battery {
                batteries += 1;
                first_v.get_or_insert(b.voltage_v);
                last_v = Some(b.voltage_v);
            }
        }
        assert!(
            armed > 10 && batteries > 100,
            "{armed} armed heartbeats, {batteries} battery states"
        );
        assert!(
            last_v < first_v,
            "the pack drained: {first_v:?} → {last_v:?}"
        );
        let s = decoder.stats();
        assert_eq!(
            (
                s.checksum_errors,
                s.framing_errors,
                s.unknown_messages,
                s.decode_errors
            ),
            (0, 0, 0, 0)
        );
    }
}
