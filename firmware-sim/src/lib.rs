//! Simulated drone sensor firmware on pseudo-terminals, for the demo and the
//! end-to-end tests: the daemon opens the simulated devices as real serial
//! ports, and the simulator knows the truth it sent.
//!
//! # Layout
//! - this file: [`SimOptions`], [`Home`], [`Simulator`], [`Truth`], [`SimError`].
//! - [`device`]: [`Device`], the handle on one simulated device (unplug,
//!   replug, stall, truth, counters), and the task driving its pty and
//!   network outputs (the flight controller's UDP and TCP, like SITL).
//! - [`fault`]: fault injection on a device (line noise, truncated and
//!   spliced messages, foreign bytes, bursts, time jumps, random streams)
//!   and its counters ([`FaultRates`], [`FaultStats`]).
//! - `epochs`: epoch times of a device's cycles, aligned to the UTC clock.
//! - `pty`: a raw pty pair with its atomically created link.
//! - `gps`: the simulated receiver: model → `GpsFix` → u-blox-like NMEA
//!   and/or UBX epoch ([`GpsProtocol`]), and its answers to UBX set-up
//!   requests.
//! - `fc`: the simulated flight controller: model + battery → MAVLink
//!   ([`FcTruth`]).
//! - `battery`: the 4S pack drained by the flight.
//! - `tracker`: the simulated vision module: objects around home seen from
//!   the drone → COBS/CRC tracker frames ([`TrackerTruth`]).
//! - `flight`: the deterministic flight model (take-off, circuit, landing).
//! - `sky`: the deterministic multi-constellation sky.
//! - `rng`: the small seeded PRNG behind both.
//! - [`mod@replay`]: gpsfake-like replay of a capture onto a pty.
//! - [`flood`]: the devices' output on a simulated clock as fast as
//!   possible ([`flood::Recording`]) and a pty to write it to, for benchmarks.
#![forbid(unsafe_code)]

mod battery;
pub mod device;
mod epochs;
pub mod fault;
mod fc;
mod flight;
pub mod flood;
mod gps;
mod pty;
pub mod replay;
mod rng;
mod sky;
mod tracker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use device::{Device, DeviceHandle, DeviceStats};
pub use fault::{FaultRates, FaultStats, GPS_WEEK_ROLLOVER};
pub use fc::{FcTruth, SYSTEM_ID as FC_SYSTEM_ID};
pub use replay::{replay, Pacing, Replay, ReplayOptions, ReplayStats};
pub use tracker::TrackerTruth;

/// How long [`Simulator::stop`] waits for the device tasks.
const STOP_DEADLINE: Duration = Duration::from_secs(3);

/// Take-off position of the simulated vehicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Home {
    /// Latitude, degrees north.
    pub lat_deg: f64,
    /// Longitude, degrees east.
    pub lon_deg: f64,
    /// Ground altitude above mean sea level, metres.
    pub alt_msl_m: f64,
    /// Geoid separation (ellipsoid minus geoid) there, metres.
    pub geoid_separation_m: f64,
}

impl Default for Home {
    /// A field north of Zürich (the PX4 SITL home), 488 m above sea level.
    fn default() -> Self {
        Home {
            lat_deg: 47.397_742,
            lon_deg: 8.545_594,
            alt_msl_m: 488.0,
            geoid_separation_m: 47.4,
        }
    }
}

/// What to simulate and where to put the devices.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Directory of the device links (`DIR/gps`, `DIR/fc`, `DIR/tracker`);
    /// created if missing.
    pub link_dir: PathBuf,
    /// GPS cycles per second, 1 to 25.
    pub gps_rate_hz: f64,
    /// Where the vehicle takes off.
    pub home: Home,
    /// Seed of the flight and the sky: the same seed flies the same flight.
    pub seed: u64,
    /// Flight time already elapsed when the simulator starts (0: on the
    /// ground before take-off); e.g. 60 s starts in the circuit.
    pub flight_offset: Duration,
    /// Also send the flight controller's MAVLink (faults included) over
    /// UDP to this address, from a socket of its own that takes commands
    /// back (as SITL's UDP output does).
    pub fc_udp: Option<SocketAddr>,
    /// Also serve the flight controller's MAVLink to every TCP client of a
    /// listener bound here (as SITL on 5760); port 0 picks a free port,
    /// read back with [`DeviceHandle::tcp_listen_addr`].
    pub fc_tcp_listen: Option<SocketAddr>,
    /// What the simulated GPS speaks: NMEA (default), UBX, or both.
    pub gps_protocol: GpsProtocol,
}

/// What the simulated GPS receiver sends each epoch (the same flight in
/// every case). It answers UBX CFG-MSG / CFG-VALSET requests in every mode
/// (ACK-ACK for the messages it can send, ACK-NAK otherwise), and a request
/// enabling NAV-PVT makes an NMEA-only receiver send UBX too, as a real
/// u-blox does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum GpsProtocol {
    /// A u-blox M9 in NMEA 4.10 mode (RMC, VTG, GGA, GSA, GSV, GLL, GST,
    /// ZDA).
    #[default]
    Nmea,
    /// UBX only: NAV-PVT, NAV-SAT, NAV-DOP, NAV-EOE.
    Ubx,
    /// Both, as a u-blox receiver configured for UBX keeps its default
    /// NMEA: the NMEA cycle, then NAV-PVT, NAV-SAT, NAV-DOP, NAV-EOE.
    Both,
}

impl SimOptions {
    /// Default options with the devices linked under `link_dir`.
    pub fn new(link_dir: impl Into<PathBuf>) -> SimOptions {
        SimOptions {
            link_dir: link_dir.into(),
            ..SimOptions::default()
        }
    }
}

impl Default for SimOptions {
    /// 5 Hz GPS, default home, seed 1; `link_dir` is empty and must be set.
    fn default() -> Self {
        SimOptions {
            link_dir: PathBuf::new(),
            gps_rate_hz: 5.0,
            home: Home::default(),
            seed: 1,
            flight_offset: Duration::ZERO,
            fc_udp: None,
            fc_tcp_listen: None,
            gps_protocol: GpsProtocol::Nmea,
        }
    }
}

/// What one GPS cycle on the wire carried: the values as encoded (rounded
/// to the sentences' decimals), so a perfect decoder reproduces them.
///
/// `fix.climb_mps` is the altitude change since the previous cycle written
/// on the same pty divided by the time between them (absent for the first
/// cycle after start or replug), as a decoder derives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// UTC time of the fix as encoded (milliseconds).
    pub time: SystemTime,
    /// The fix as the cycle's sentences carry it.
    pub fix: dronetel_proto::v1::GpsFix,
}

/// Why the simulator could not start or a device could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The link directory could not be created.
    #[error("cannot create link directory {}: {source}", dir.display())]
    LinkDir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A pty operation failed.
    #[error("{op} failed for {}: {source}", link.display())]
    Pty {
        /// The failing operation (openpty, tcsetattr, symlink, ...).
        op: &'static str,
        /// The link the pty was for.
        link: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A network output could not be bound.
    #[error("{op} failed for {addr}: {source}")]
    Net {
        /// The failing operation (udp bind, tcp listen).
        op: &'static str,
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A capture to replay could not be read.
    #[error("cannot read capture {}: {source}", path.display())]
    Capture {
        /// The capture file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The running simulator: its devices and their tasks.
#[derive(Debug)]
pub struct Simulator {
    gps: Device,
    fc: Device<FcTruth>,
    tracker_dev: Device<TrackerTruth>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Simulator {
    /// Creates the link directory if missing, the devices' ptys and links,
    /// and spawns their tasks; returns once `DIR/gps`, `DIR/fc` and
    /// `DIR/tracker` exist. All three fly the same flight (same seed, same
    /// start): the GPS and the flight controller agree on position.
    pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
        if opts.link_dir.as_os_str().is_empty() {
            return Err(SimError::InvalidOption("link_dir is not set".into()));
        }
        if !(1.0..=25.0).contains(&opts.gps_rate_hz) {
            return Err(SimError::InvalidOption(format!(
                "gps_rate_hz {} is outside 1..=25",
                opts.gps_rate_hz
            )));
        }
        ensure_dir(&opts.link_dir)?;
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let start = SystemTime::now()
            .checked_sub(opts.flight_offset)
            .ok_or_else(|| SimError::InvalidOption("flight_offset is too large".into()))?;
        let receiver = gps::GpsReceiver::new(opts.home, opts.seed, start, opts.gps_protocol);
        let period = Duration::from_secs_f64(1.0 / opts.gps_rate_hz);
        let link = |name: &str| opts.link_dir.join(name);
        let (gps, task) = device::device(
            "gps",
            opts.seed,
            &link("gps"),
            receiver,
            period,
            device::net::NetConfig::default(),
            cancel.clone(),
        )?;
        tracker.spawn(task);
        let autopilot = fc::FlightController::new(opts.home, opts.seed, start);
        let (fc, task) = device::device(
            "fc",
            opts.seed,
            &link("fc"),
            autopilot,
            fc::PERIOD,
            device::net::NetConfig {
                udp: opts.fc_udp,
                tcp_listen: opts.fc_tcp_listen,
            },
            cancel.clone(),
        )?;
        tracker.spawn(task);
        let camera = tracker::Tracker::new(opts.home, opts.seed, start);
        let period = Duration::from_secs_f64(1.0 / tracker::RATE_HZ);
        let (tracker_dev, task) = device::device(
            "tracker",
            opts.seed,
            &link("tracker"),
            camera,
            period,
            device::net::NetConfig::default(),
            cancel.clone(),
        )?;
        tracker.spawn(task);
        tracker.close();
        tracing::info!(link_dir = %opts.link_dir.display(), gps_rate_hz = opts.gps_rate_hz, seed = opts.seed, "simulator started");
        Ok(Simulator {
            gps,
            fc,
            tracker_dev,
            cancel,
            tracker,
        })
    }

    /// The simulated GPS receiver.
    pub fn gps(&self) -> &Device {
        &self.gps
    }

    /// The simulated flight controller (MAVLink on `DIR/fc`).
    pub fn fc(&self) -> &Device<FcTruth> {
        &self.fc
    }

    /// The simulated object tracker (on `DIR/tracker`).
    pub fn tracker(&self) -> &Device<TrackerTruth> {
        &self.tracker_dev
    }

    /// Every device's controls, for callers that list or supervise them all.
    pub fn devices(&self) -> Vec<DeviceHandle> {
        vec![
            self.gps.handle(),
            self.fc.handle(),
            self.tracker_dev.handle(),
        ]
    }

    /// Stops the device tasks and removes their links.
    pub async fn stop(self) {
        self.cancel.cancel();
        if tokio::time::timeout(STOP_DEADLINE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tracker.len(),
                "simulator tasks missed the stop deadline"
            );
        }
        tracing::info!("simulator stopped");
    }
}

impl Drop for Simulator {
    /// A simulator dropped without `stop` still ends its tasks (which then
    /// remove their links).
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn ensure_dir(dir: &Path) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(|source| SimError::LinkDir {
        dir: dir.to_path_buf(),
        source,
    })
}
