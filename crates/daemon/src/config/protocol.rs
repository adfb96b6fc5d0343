//! Options of the flight-controller (MAVLink) and tracker protocols.

/// Options of a `protocol = "mavlink"` sensor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MavlinkConfig {
    /// Ask the autopilot for the message rates the daemon needs
    /// (MAV_CMD_SET_MESSAGE_INTERVAL) once its first HEARTBEAT arrives on a
    /// connection. Off by default: the link stays read-only.
    pub request_message_rates: bool,
}

/// Options of a `protocol = "tracker"` sensor (none yet: the wire protocol
/// fixes framing, CRC and frame size).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackerConfig {}
