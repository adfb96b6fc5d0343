//! The contract every sink implements ([`Sink`]), what it is handed to run
//! ([`SinkContext`]) and what starting it gives back ([`SinkHandle`]).
//!
//! A trait rather than one enum of sinks: each sink keeps its raw and
//! checked configuration as its own types in its own folder, the registry
//! (`super::registry`) is one list of entries, and adding a sink touches no
//! `match` elsewhere. The trait is typed; the registry erases it (each
//! sink's configuration travels as [`Settings`](crate::config::Settings)).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, BusCounters};
use crate::config::{Checker, ConfigError};
use crate::consumers::ConsumerId;
use crate::context::TaskContext;
use crate::selection::Selection;
use crate::sensor::raw::RawTap;
use crate::sink::frames::SinkFrames;
use crate::sink::stats::{SinkRoster, SinkStats};
use crate::status::StatusBoard;

/// An output of the daemon.
pub trait Sink: Send + Sync + 'static {
    /// Its name: its configuration section (`[udp]`), its log and metrics
    /// label, its bus consumer name.
    const NAME: &'static str;
    /// Whether its section takes the selection keys (`sensors`, `kinds`,
    /// `max_rate`).
    const SELECTS: bool = true;
    /// Whether it names things after `daemon.vehicle_id` (files, topics):
    /// a reload that changes the id restarts it.
    const NAMED_AFTER_VEHICLE: bool = false;
    /// Its section as written (unknown keys refused).
    type Raw: DeserializeOwned;
    /// Its section, checked.
    type Config: std::fmt::Debug + Clone + PartialEq + Send + Sync + 'static;

    /// The configuration without a section in the file (`None`: off).
    fn absent() -> Option<Self::Config> {
        None
    }

    /// Checks the section; `selection` holds its selection keys (all
    /// frames when it has none or does not select).
    fn validate(
        raw: Self::Raw,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<Self::Config, ConfigError>;

    /// The queue each bus subscriber gets, when this sink sizes it (the
    /// bus has one size for all).
    fn bus_queue(_config: &Self::Config) -> Option<usize> {
        None
    }

    /// `config` asking for the bus queue the daemon runs with (a reload
    /// cannot resize the bus: it keeps the running size).
    fn with_bus_queue(config: &Self::Config, _queue: usize) -> Self::Config {
        config.clone()
    }

    /// Binds or opens what it needs (errors surface before any sensor
    /// starts), then spawns its tasks through `cx` and returns their handle.
    fn start(
        config: &Self::Config,
        cx: SinkContext,
    ) -> impl Future<Output = Result<SinkHandle, SinkError>> + Send;
}

/// Why a sink could not start: the key of its section at fault (so the
/// binary can point at the line) and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct SinkError {
    /// The sink.
    pub sink: &'static str,
    /// The key of its section that configured what failed (`tcp`, `dir`).
    pub key: &'static str,
    /// What failed.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl SinkError {
    /// A failure of sink `S` caused by the value of `key`.
    pub fn new<S: Sink>(
        key: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            sink: S::NAME,
            key,
            source: source.into(),
        }
    }

    /// The dotted config key at fault (`stream.tcp`).
    pub fn config_key(&self) -> String {
        format!("{}.{}", self.sink, self.key)
    }
}

/// What the daemon shows a sink that reports on it (the metrics endpoint).
#[derive(Debug, Clone)]
pub struct DaemonView {
    /// Sensor states and last health.
    pub board: StatusBoard,
    /// Bus counters (without keeping the bus open).
    pub bus: BusCounters,
    /// Every running sink's counters.
    pub sinks: SinkRoster,
    /// The configured sensors, as sinks that name devices need them
    /// (gpsd's `DEVICES`), current after every reload.
    pub sensors: SensorList,
    /// The sensors' input as read, for sinks that pass it on (gpsd's
    /// `"nmea":true`).
    pub raw: RawTap,
}

/// The configured sensors, replaced whole when a reload changes them.
pub type SensorList = tokio::sync::watch::Receiver<Arc<Vec<SensorInfo>>>;

/// One configured sensor as a sink describes it to its clients: a gpsd
/// client asks which device a report came from, at which speed, read how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorInfo {
    /// `Frame.sensor` of its frames.
    pub name: String,
    /// Its device path (`/dev/ttyACM0`).
    pub path: String,
    /// Its protocol's name (`nmea`, `mavlink`).
    pub protocol: &'static str,
    /// Its line speed, for a serial device.
    pub bps: Option<u32>,
    /// Its input is NMEA text (see `Protocol::RAW_NMEA`).
    pub raw_nmea: bool,
}

/// Everything a starting sink is handed.
#[derive(Debug)]
pub struct SinkContext {
    name: &'static str,
    tasks: TaskContext,
    detached: TaskContext,
    bus: Bus,
    stop: CancellationToken,
    stats: Arc<SinkStats>,
    vehicle_id: String,
    daemon: DaemonView,
}

impl SinkContext {
    /// A context for sink `name`: its tasks run on a scope of `parent`.
    pub(crate) fn new(
        name: &'static str,
        parent: &TaskContext,
        bus: &Bus,
        vehicle_id: &str,
        daemon: DaemonView,
    ) -> Self {
        Self {
            name,
            tasks: parent.scoped(),
            detached: parent.clone(),
            bus: bus.clone(),
            stop: CancellationToken::new(),
            stats: Arc::default(),
            vehicle_id: vehicle_id.to_owned(),
            daemon,
        }
    }

    /// The sink's own receiver of the bus through `selection`, its losses
    /// counted. It ends once the bus closes (shutdown) or the sink is
    /// stopped, after everything published before.
    pub fn frames(&self, selection: &Selection) -> SinkFrames {
        let rx = self
            .bus
            .subscribe_as(ConsumerId {
                sink: self.name.to_owned(),
                peer: None,
            })
            .stop_on(self.stop.clone());
        SinkFrames::new(rx, selection.clone(), self.stats.clone())
    }

    /// What the sink's client tasks need (sinks that serve clients).
    pub fn clients(&self) -> ClientSide {
        ClientSide {
            name: self.name,
            bus: self.bus.clone(),
            tasks: self.detached.clone(),
            stats: self.stats.clone(),
        }
    }

    /// Spawns one of the sink's own tasks: its handle waits for it, and
    /// the watchdog sees the sink unhealthy if it ends before a stop.
    pub fn spawn<F>(&self, task: impl Into<String>, fut: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task, fut)
    }

    /// Cancelled when the sink is stopped or the daemon shuts down (for
    /// listeners and connection loops; frame receivers end on their own).
    pub fn token(&self) -> CancellationToken {
        self.tasks.token.clone()
    }

    /// The sink's counters.
    pub fn stats(&self) -> &Arc<SinkStats> {
        &self.stats
    }

    /// `daemon.vehicle_id`.
    pub fn vehicle_id(&self) -> &str {
        &self.vehicle_id
    }

    /// What the daemon shows of itself.
    pub fn daemon(&self) -> &DaemonView {
        &self.daemon
    }

    /// The handle of the started sink, with the endpoints it listens on.
    pub fn into_handle(self, endpoints: Vec<Endpoint>) -> SinkHandle {
        SinkHandle {
            name: self.name,
            tasks: self.tasks,
            stop: self.stop,
            stats: self.stats,
            endpoints,
        }
    }
}

/// What a sink's client tasks are started with. Clients outlive the
/// sink's handle: a reload that replaces the listeners leaves connected
/// clients their frames; shutdown still waits for them.
#[derive(Debug, Clone)]
pub struct ClientSide {
    name: &'static str,
    bus: Bus,
    tasks: TaskContext,
    stats: Arc<SinkStats>,
}

impl ClientSide {
    /// A receiver for the client `peer`, through `selection`, its losses
    /// counted in the sink's counters. It ends only when the bus closes.
    pub fn frames(&self, peer: &str, selection: Selection) -> SinkFrames {
        let rx = self.bus.subscribe_as(ConsumerId {
            sink: self.name.to_owned(),
            peer: Some(peer.to_owned()),
        });
        SinkFrames::new(rx, selection, self.stats.clone())
    }

    /// Spawns a client's task.
    pub fn spawn<F>(&self, task: impl Into<String>, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task, fut);
    }

    /// The sink's counters.
    pub fn stats(&self) -> &Arc<SinkStats> {
        &self.stats
    }

    /// Cancelled when the daemon shuts down (not on a reload): a client
    /// blocked in a send stops waiting for it then.
    pub fn shutdown(&self) -> CancellationToken {
        self.tasks.token.clone()
    }
}

/// A listening address of a running sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A bound TCP listener (the real port when 0 was configured).
    Tcp(SocketAddr),
    /// A Unix socket.
    Unix(PathBuf),
}

/// A started sink: owns its tasks, so reload and shutdown wait on it.
#[derive(Debug)]
pub struct SinkHandle {
    name: &'static str,
    tasks: TaskContext,
    stop: CancellationToken,
    stats: Arc<SinkStats>,
    endpoints: Vec<Endpoint>,
}

impl SinkHandle {
    /// The sink's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its counters.
    pub fn stats(&self) -> &Arc<SinkStats> {
        &self.stats
    }

    /// Where it listens.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// True while every task it started still runs.
    pub fn alive(&self) -> bool {
        self.tasks.scope_alive()
    }

    /// Stops it: what was published before is still handled (a recording
    /// is finished, the MQTT queue gets its moment), listeners close. Waits
    /// up to `grace`; tasks still running then are aborted and named.
    pub async fn stop(self, grace: Duration) -> Vec<String> {
        self.stop.cancel();
        self.tasks.stop_scope(grace).await
    }
}
