//! The validated configuration. Every field here has passed the checks of
//! the loader; defaults are already applied.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole daemon configuration (one TOML file).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[daemon]`: identity and process-wide timings.
    pub daemon: DaemonConfig,
    /// `[[sensor]]`: the serial devices to read, in file order.
    pub sensors: Vec<SensorConfig>,
    /// `[stream]`: the frame stream listeners (without the section: TCP on
    /// `127.0.0.1:4780`).
    pub stream: StreamConfig,
    /// `[udp]`, `[record]`, `[mqtt]`: the optional sinks.
    pub outputs: super::outputs::OutputsConfig,
    /// `[metrics]`: the Prometheus endpoint; `None` (no section): off.
    pub metrics: Option<super::metrics::MetricsConfig>,
}

/// `[daemon]`: settings of the process as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// Which vehicle this daemon runs on (logged at start).
    pub vehicle_id: String,
    /// How long shutdown may take before late tasks are named and aborted.
    pub shutdown_grace: Duration,
    /// Period of the `SensorHealth` frames each sensor sends besides the ones
    /// sent on state changes.
    pub health_interval: Duration,
}

/// What a sensor is, which fixes the protocol it must speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// A GNSS receiver (protocol `nmea`).
    Gps,
    /// An autopilot (protocol `mavlink`).
    FlightController,
    /// An object tracker (protocol `tracker`).
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

/// One `[[sensor]]`: a serial device and how to decode it.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorConfig {
    /// Unique name; becomes `Frame.sensor` and the `sensor` log field.
    pub name: String,
    /// What the device is.
    pub kind: SensorKind,
    /// Wire protocol and its options.
    pub protocol: ProtocolConfig,
    /// Device path (prefer a stable `/dev/serial/by-id/...` link).
    pub path: PathBuf,
    /// Line speed in baud.
    pub baud: u32,
    /// Silence after which the sensor is reported STALE.
    pub stale_after: Duration,
}

/// The wire protocol of a sensor with its decoder options.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolConfig {
    /// NMEA 0183 sentences.
    Nmea(NmeaConfig),
    /// MAVLink v1/v2 from a flight controller.
    Mavlink(super::protocol::MavlinkConfig),
    /// The object tracker's COBS/CRC-32 protobuf frames.
    Tracker(super::protocol::TrackerConfig),
}

impl ProtocolConfig {
    /// The protocol's name as written in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolConfig::Nmea(_) => "nmea",
            ProtocolConfig::Mavlink(_) => "mavlink",
            ProtocolConfig::Tracker(_) => "tracker",
        }
    }
}

/// Options of the NMEA decoder a sensor may override.
#[derive(Debug, Clone, PartialEq)]
pub struct NmeaConfig {
    /// Drop sentences without a `*hh` checksum (default true).
    pub require_checksum: bool,
    /// Silence after which a held-back epoch is published; `None` keeps the
    /// decoder's default.
    pub idle_gap: Option<Duration>,
}

/// `[stream]`: where stream clients connect and how slow ones are treated.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// TCP listen address (loopback unless you mean otherwise); `None`: off.
    pub tcp: Option<SocketAddr>,
    /// Unix socket path (created mode 0600, removed on shutdown); `None`: off.
    pub unix: Option<PathBuf>,
    /// Most clients connected at once over TCP and Unix together.
    pub max_clients: usize,
    /// Frames the bus keeps for each client; a client further behind loses
    /// its oldest frames (counted).
    pub client_queue: usize,
    /// Frames a client may lose in total before it is disconnected
    /// (0: never disconnect for losses).
    pub max_client_drops: u64,
    /// Longest one write to a client may block before it is disconnected.
    pub write_timeout: Duration,
}

impl Default for StreamConfig {
    /// What a file without `[stream]` gets: TCP on `127.0.0.1:4780` only.
    fn default() -> Self {
        Self {
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], Self::DEFAULT_TCP_PORT))),
            unix: None,
            max_clients: Self::DEFAULT_MAX_CLIENTS,
            client_queue: Self::DEFAULT_CLIENT_QUEUE,
            max_client_drops: Self::DEFAULT_MAX_CLIENT_DROPS,
            write_timeout: Self::DEFAULT_WRITE_TIMEOUT,
        }
    }
}

impl StreamConfig {
    /// Port of the default TCP listener (on loopback).
    pub const DEFAULT_TCP_PORT: u16 = 4780;
    /// Default `max_clients`.
    pub const DEFAULT_MAX_CLIENTS: usize = 64;
    /// Default `client_queue`.
    pub const DEFAULT_CLIENT_QUEUE: usize = 1024;
    /// Default `max_client_drops`.
    pub const DEFAULT_MAX_CLIENT_DROPS: u64 = 10_000;
    /// Largest `max_clients` accepted (each client is a task and a socket).
    pub const MAX_MAX_CLIENTS: usize = 10_000;
    /// Largest `client_queue` accepted (frames kept per client).
    pub const MAX_CLIENT_QUEUE: usize = 1 << 20;
    /// Default `write_timeout`.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
}

impl DaemonConfig {
    /// Default `shutdown_grace`.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
    /// Default `health_interval`.
    pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
}

impl SensorConfig {
    /// Default `stale_after`.
    pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(2);
}
