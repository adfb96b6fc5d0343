//! Options of the MAVLink decoder.

use std::time::Duration;

/// One message rate to ask the autopilot for with
/// `MAV_CMD_SET_MESSAGE_INTERVAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRequest {
    /// MAVLink message id (e.g. 147 for BATTERY_STATUS).
    pub message_id: u32,
    /// Wanted interval between two messages.
    pub interval: Duration,
}

/// How the MAVLink link is decoded and whether the daemon may talk back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavlinkOptions {
    /// Rates to request once the autopilot's first HEARTBEAT arrives on a
    /// connection. Empty (the default): the link is read-only.
    pub rate_requests: Vec<RateRequest>,
    /// System id the daemon uses in frames it sends.
    pub own_system_id: u8,
    /// Component id the daemon uses in frames it sends (191 =
    /// MAV_COMP_ID_ONBOARD_COMPUTER).
    pub own_component_id: u8,
    /// The autopilot's system id, when pinned; `None`: the system of the
    /// first HEARTBEAT whose `autopilot` is not `MAV_AUTOPILOT_INVALID`.
    /// Messages of other systems are counted and skipped.
    pub system_id: Option<u8>,
    /// The link's signing key: only validly signed, fresh frames are used,
    /// and frames sent are signed. `None`: signatures are not checked.
    pub signing: Option<super::SigningKey>,
}

impl Default for MavlinkOptions {
    /// Read-only; system 255, component 191 if ever switched to requests.
    fn default() -> Self {
        Self {
            rate_requests: Vec::new(),
            own_system_id: 255,
            own_component_id: 191,
            system_id: None,
            signing: None,
        }
    }
}

impl MavlinkOptions {
    /// The rates the daemon asks for when `request_message_rates` is on:
    /// SYS_STATUS 2 Hz, BATTERY_STATUS 1 Hz, GPS_RAW_INT and
    /// GLOBAL_POSITION_INT 5 Hz (HEARTBEAT is always sent at 1 Hz).
    pub fn default_rate_requests() -> Vec<RateRequest> {
        use mavlink::MessageData;
        let ms = Duration::from_millis;
        vec![
            RateRequest {
                message_id: super::common::SYS_STATUS_DATA::ID,
                interval: ms(500),
            },
            RateRequest {
                message_id: super::common::BATTERY_STATUS_DATA::ID,
                interval: ms(1000),
            },
            RateRequest {
                message_id: super::common::GPS_RAW_INT_DATA::ID,
                interval: ms(200),
            },
            RateRequest {
                message_id: super::common::GLOBAL_POSITION_INT_DATA::ID,
                interval: ms(200),
            },
        ]
    }
}
