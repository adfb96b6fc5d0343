//! The contract table: one row per field of every reading body, with its
//! valid range. Each range is written here once; `proto/telemetry.proto`
//! repeats it on a `Valid:` line above the field, and a test checks that
//! the two agree and that every field of the bodies has a row.
//!
//! Where protobuf or the source protocol fixes no range, the bound is what
//! the field can physically mean for a drone, with margin: altitudes from
//! below the Dead Sea shore to the edge of space, speeds up to the GNSS
//! export limit (515 m/s) with margin, errors up to Earth's size.

use dronetel_proto::v1::{
    BatteryChargeState, BatteryMode, BatterySource, BatteryState, Constellation, FixMode,
    FixQuality, GpsFix, SatelliteInfo, TrackedObject, TrackingUpdate, VehicleStatus,
};

use super::{Bounds, Check as C, Rule};

/// Degrees north of the equator.
const LATITUDE: Bounds = Bounds::closed(-90.0, 90.0);
/// Degrees east of Greenwich.
const LONGITUDE: Bounds = BEARING;
/// Altitudes (MSL or ellipsoid), metres.
const ALTITUDE: Bounds = Bounds::closed(-1000.0, 100_000.0);
/// Angles from north, degrees; 360 is 0 again.
const AZIMUTH: Bounds = Bounds::half_open(0.0, 360.0);
/// Angles above the horizon or the optical axis, degrees.
const ELEVATION: Bounds = Bounds::closed(-90.0, 90.0);
/// Signed speeds (climb, velocity components), metres per second.
const VELOCITY: Bounds = Bounds::closed(-1000.0, 1000.0);
/// Dilutions of precision (NMEA writes at most 99.99).
const DOP: Bounds = Bounds::closed(0.0, 100.0);
/// 1-sigma position errors, metres (up to Earth's size).
const POSITION_ERROR: Bounds = Bounds::closed(0.0, 1e7);
/// Counts of satellites.
const SATELLITES: Bounds = Bounds::closed(0.0, 255.0);
/// Anything carried in one byte on the wire (MAVLink ids and enums).
const BYTE: Bounds = Bounds::closed(0.0, 255.0);
/// Fractions: confidence, normalized image coordinates.
const UNIT: Bounds = Bounds::closed(0.0, 1.0);
/// Quantities that only grow from 0.
const NON_NEGATIVE: Bounds = Bounds::at_least(0.0);
/// Geoid undulation, metres (Earth's is within about -107..+86).
const GEOID_SEPARATION: Bounds = Bounds::closed(-200.0, 200.0);
/// Speed over ground, metres per second.
const GROUND_SPEED: Bounds = Bounds::closed(0.0, 1000.0);
/// A receiver's speed accuracy estimate, metres per second.
const SPEED_ERROR: Bounds = Bounds::closed(0.0, 1000.0);
/// A receiver's heading accuracy estimate, degrees (u-blox reports up to
/// 180 without a heading).
const COURSE_ERROR: Bounds = Bounds::closed(0.0, 360.0);
/// Orientation of an error ellipse's axis, degrees from true north (GST
/// sends 360 as well as 0).
const ORIENTATION: Bounds = Bounds::closed(0.0, 360.0);
/// Satellite numbers in NMEA numbering (at most three digits).
const PRN: Bounds = Bounds::closed(1.0, 999.0);
/// Carrier-to-noise density, dB-Hz (a two-digit GSV field).
const SNR: Bounds = Bounds::closed(0.0, 99.0);
/// NMEA 4.10 signal IDs (one hex digit).
const SIGNAL_ID: Bounds = Bounds::closed(0.0, 15.0);
/// Battery voltage, volts.
const VOLTAGE: Bounds = Bounds::closed(0.0, 1000.0);
/// Battery current, amperes (negative: charging).
const CURRENT: Bounds = Bounds::closed(-1000.0, 1000.0);
/// Percentages.
const PERCENT: Bounds = Bounds::closed(0.0, 100.0);
/// Temperatures, degrees Celsius, from absolute zero.
const TEMPERATURE: Bounds = Bounds::closed(-273.15, 1000.0);
/// One cell's voltage, volts (MAVLink may put a whole pack in cell 1).
const CELL_VOLTAGE: Bounds = Bounds::closed(0.0, 100.0);
/// Directions left or right of the optical axis, degrees.
const BEARING: Bounds = Bounds::closed(-180.0, 180.0);
/// MAVLink system ids (0 is the broadcast address, never a sender).
const SYSTEM_ID: Bounds = Bounds::closed(1.0, 255.0);
/// MAVLink protocol versions.
const MAVLINK_VERSION: Bounds = Bounds::closed(1.0, 2.0);

/// One row (keeps the tables one line per field).
const fn r<M>(field: &'static str, check: C<M>) -> Rule<M> {
    Rule { field, check }
}

/// Whether `v` is a number of the enum `E`.
fn defined<E: TryFrom<i32>>(v: i32) -> bool {
    E::try_from(v).is_ok()
}

/// The rows of `GpsFix` (its `sky` entries: [`SATELLITE_INFO`]).
#[rustfmt::skip]
pub const GPS_FIX: &[Rule<GpsFix>] = &[
    r("time", C::Time(|m| &mut m.time)),
    r("mode", C::Enum(|m| &mut m.mode, defined::<FixMode>)),
    r("quality", C::Enum(|m| &mut m.quality, defined::<FixQuality>)),
    r("latitude_deg", C::Number(|m| &mut m.latitude_deg, LATITUDE)),
    r("longitude_deg", C::Number(|m| &mut m.longitude_deg, LONGITUDE)),
    r("altitude_msl_m", C::Number(|m| &mut m.altitude_msl_m, ALTITUDE)),
    r("altitude_hae_m", C::Number(|m| &mut m.altitude_hae_m, ALTITUDE)),
    r("geoid_separation_m", C::Number(|m| &mut m.geoid_separation_m, GEOID_SEPARATION)),
    r("speed_mps", C::Number(|m| &mut m.speed_mps, GROUND_SPEED)),
    r("course_deg", C::Number(|m| &mut m.course_deg, AZIMUTH)),
    r("climb_mps", C::Number(|m| &mut m.climb_mps, VELOCITY)),
    r("hdop", C::Number(|m| &mut m.hdop, DOP)),
    r("vdop", C::Number(|m| &mut m.vdop, DOP)),
    r("pdop", C::Number(|m| &mut m.pdop, DOP)),
    r("horizontal_error_m", C::Number(|m| &mut m.horizontal_error_m, POSITION_ERROR)),
    r("vertical_error_m", C::Number(|m| &mut m.vertical_error_m, POSITION_ERROR)),
    r("satellites_used", C::Count(|m| &mut m.satellites_used, SATELLITES)),
    r("satellites_visible", C::Count(|m| &mut m.satellites_visible, SATELLITES)),
    r("talker", C::Text(|m| &mut m.talker, 2)),
    r("cycle_end", C::Text(|m| &mut m.cycle_end, 32)),
    r("velocity_north_mps", C::Number(|m| &mut m.velocity_north_mps, VELOCITY)),
    r("velocity_east_mps", C::Number(|m| &mut m.velocity_east_mps, VELOCITY)),
    r("velocity_down_mps", C::Number(|m| &mut m.velocity_down_mps, VELOCITY)),
    r("speed_error_mps", C::Number(|m| &mut m.speed_error_mps, SPEED_ERROR)),
    r("course_error_deg", C::Number(|m| &mut m.course_error_deg, COURSE_ERROR)),
    r("position_error_3d_m", C::Number(|m| &mut m.position_error_3d_m, POSITION_ERROR)),
    r("magnetic_variation_deg", C::Number(|m| &mut m.magnetic_variation_deg, BEARING)),
    r("magnetic_course_deg", C::Number(|m| &mut m.magnetic_course_deg, AZIMUTH)),
    r("expected_latitude_error_m", C::Number(|m| &mut m.expected_latitude_error_m, POSITION_ERROR)),
    r("expected_longitude_error_m", C::Number(|m| &mut m.expected_longitude_error_m, POSITION_ERROR)),
    r("expected_altitude_error_m", C::Number(|m| &mut m.expected_altitude_error_m, POSITION_ERROR)),
    r("range_rms_m", C::Number(|m| &mut m.range_rms_m, POSITION_ERROR)),
    r("error_ellipse_major_m", C::Number(|m| &mut m.error_ellipse_major_m, POSITION_ERROR)),
    r("error_ellipse_minor_m", C::Number(|m| &mut m.error_ellipse_minor_m, POSITION_ERROR)),
    r("error_ellipse_orientation_deg", C::Number(|m| &mut m.error_ellipse_orientation_deg, ORIENTATION)),
    r("latitude_error_m", C::Number(|m| &mut m.latitude_error_m, POSITION_ERROR)),
    r("longitude_error_m", C::Number(|m| &mut m.longitude_error_m, POSITION_ERROR)),
];

/// The rows of one `GpsFix.sky` entry; an invalid `prn` drops the entry.
#[rustfmt::skip]
pub const SATELLITE_INFO: &[Rule<SatelliteInfo>] = &[
    r("constellation", C::Enum(|m| &mut m.constellation, defined::<Constellation>)),
    r("prn", C::Required(|m| f64::from(m.prn), PRN)),
    r("elevation_deg", C::Number(|m| &mut m.elevation_deg, ELEVATION)),
    r("azimuth_deg", C::Number(|m| &mut m.azimuth_deg, AZIMUTH)),
    r("snr_dbhz", C::Number(|m| &mut m.snr_dbhz, SNR)),
    r("signal_id", C::Count(|m| &mut m.signal_id, SIGNAL_ID)),
];

/// The rows of `BatteryState`.
#[rustfmt::skip]
pub const BATTERY_STATE: &[Rule<BatteryState>] = &[
    r("battery_id", C::Required(|m| f64::from(m.battery_id), BYTE)),
    r("voltage_v", C::Number(|m| &mut m.voltage_v, VOLTAGE)),
    r("current_a", C::Number(|m| &mut m.current_a, CURRENT)),
    r("remaining_percent", C::Number(|m| &mut m.remaining_percent, PERCENT)),
    r("consumed_mah", C::Number(|m| &mut m.consumed_mah, NON_NEGATIVE)),
    r("consumed_wh", C::Number(|m| &mut m.consumed_wh, NON_NEGATIVE)),
    r("temperature_c", C::Number(|m| &mut m.temperature_c, TEMPERATURE)),
    r("cell_voltages_v", C::Each(|m| &mut m.cell_voltages_v, CELL_VOLTAGE)),
    r("time_remaining_s", C::Signed(|m| &mut m.time_remaining_s, NON_NEGATIVE)),
    r("charge_state", C::Enum(|m| &mut m.charge_state, defined::<BatteryChargeState>)),
    r("mode", C::Enum(|m| &mut m.mode, defined::<BatteryMode>)),
    r("fault_flags", C::Any),
    r("source", C::Enum(|m| &mut m.source, defined::<BatterySource>)),
];

/// The rows of `TrackingUpdate` (its `objects`: [`TRACKED_OBJECT`]).
#[rustfmt::skip]
pub const TRACKING_UPDATE: &[Rule<TrackingUpdate>] = &[
    r("sensor_frame", C::Any),
    r("sensor_time_us", C::Any),
    r("dropped_frames", C::Any),
    r("latency", C::Elapsed(|m| &mut m.latency)),
    r("captured_at", C::Time(|m| &mut m.captured_at)),
    r("sensor_reboots", C::Any),
];

/// The rows of one `TrackingUpdate.objects` entry; an invalid confidence or
/// box drops the object.
#[rustfmt::skip]
pub const TRACKED_OBJECT: &[Rule<TrackedObject>] = &[
    r("track_id", C::Any),
    r("label", C::Text(|m| &mut m.label, 32)),
    r("confidence", C::Required(|m| m.confidence, UNIT)),
    r("bbox_x", C::Required(|m| m.bbox_x, UNIT)),
    r("bbox_y", C::Required(|m| m.bbox_y, UNIT)),
    r("bbox_w", C::Required(|m| m.bbox_w, UNIT)),
    r("bbox_h", C::Required(|m| m.bbox_h, UNIT)),
    r("range_m", C::Number(|m| &mut m.range_m, NON_NEGATIVE)),
    r("bearing_deg", C::Number(|m| &mut m.bearing_deg, BEARING)),
    r("elevation_deg", C::Number(|m| &mut m.elevation_deg, ELEVATION)),
    r("velocity_x_mps", C::Number(|m| &mut m.velocity_x_mps, VELOCITY)),
    r("velocity_y_mps", C::Number(|m| &mut m.velocity_y_mps, VELOCITY)),
    r("velocity_z_mps", C::Number(|m| &mut m.velocity_z_mps, VELOCITY)),
];

/// The rows of `VehicleStatus`: every field is required, an invalid one
/// drops the status.
#[rustfmt::skip]
pub const VEHICLE_STATUS: &[Rule<VehicleStatus>] = &[
    r("system_id", C::Required(|m| f64::from(m.system_id), SYSTEM_ID)),
    r("component_id", C::Required(|m| f64::from(m.component_id), BYTE)),
    r("autopilot", C::Required(|m| f64::from(m.autopilot), BYTE)),
    r("vehicle_type", C::Required(|m| f64::from(m.vehicle_type), BYTE)),
    r("system_status", C::Required(|m| f64::from(m.system_status), BYTE)),
    r("custom_mode", C::Any),
    r("mavlink_version", C::Required(|m| f64::from(m.mavlink_version), MAVLINK_VERSION)),
];
