//! [`SensorKind`]: what a sensor is. Each protocol names the kinds it can
//! read, so one kind may have several protocols.

use std::fmt;

/// What a sensor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// A GNSS receiver.
    Gps,
    /// An autopilot.
    FlightController,
    /// An object tracker.
    Tracking,
}

impl fmt::Display for SensorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SensorKind::Gps => "gps",
            SensorKind::FlightController => "flight_controller",
            SensorKind::Tracking => "tracking",
        })
    }
}
