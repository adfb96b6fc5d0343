//! The supervisor: starts the sinks, then the sensors, and shuts everything
//! down in order when the token is cancelled: sensors stop, the bus closes,
//! clients drain what was published, listeners and the socket file go away.
//! Tasks still running after `shutdown_grace` are named and aborted.
//!
//! In-process use (tests, `demo`):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use dronetel::{Config, Daemon, Received};
//!
//! let config = Config::load("config/sim.toml")?;
//! let mut daemon = Daemon::new(config);
//! let mut frames = daemon.subscribe(); // every frame from seq 1
//! dronetel::signals::spawn_signal_handler(daemon.token())?;
//! daemon.start().await?; // listeners bound, sensors running
//! println!("stream on {:?}", daemon.tcp_addr());
//! let viewer = tokio::spawn(async move {
//!     while let Received::Frame(p) = frames.recv().await {
//!         println!("{} {}", p.frame().seq, p.frame().sensor);
//!     }
//! });
//! let report = daemon.run_until_cancelled().await; // until SIGINT/SIGTERM
//! viewer.await?; // ends once the bus has drained
//! assert!(report.aborted.is_empty());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, BusReceiver};
use crate::config_file::Config;
use crate::context::TaskContext;
use crate::notify::Notifier;
use crate::sensor::raw::RawTap;
use crate::sensor::{self, SensorConfig};
use crate::sink::contract::{DaemonView, Endpoint, SensorInfo, SinkError};
use crate::sink::metrics::MetricsSink;
use crate::sink::registry::{RunningSinks, StartWith};
use crate::sink::stats::SinkRoster;
use crate::sink::stream::StreamSink;
use crate::status::StatusBoard;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A sink could not start (a port in use, an unusable directory).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// [`Daemon::start`] was called twice.
    #[error("the daemon is already started")]
    AlreadyStarted,
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

impl DaemonError {
    /// The dotted configuration key behind a start-up failure that the
    /// configuration caused (`stream.tcp` for a port in use), so the binary
    /// can report it as a configuration error at its line.
    pub fn config_key(&self) -> Option<String> {
        match self {
            DaemonError::Sink(e) => Some(e.config_key()),
            _ => None,
        }
    }
}

/// One daemon run. Create it, optionally [`subscribe`](Daemon::subscribe)
/// (to see every frame from seq 1), [`start`](Daemon::start) it, then end it
/// with [`shutdown`](Daemon::shutdown) or
/// [`run_until_cancelled`](Daemon::run_until_cancelled).
#[derive(Debug)]
pub struct Daemon {
    pub(crate) config: Config,
    pub(crate) ctx: TaskContext,
    pub(crate) bus: Bus,
    started: bool,
    pub(crate) notifier: Notifier,
    pub(crate) board: StatusBoard,
    /// The status board's task (the watchdog checks it still runs).
    status_task: Option<JoinHandle<()>>,
    /// Running sensors by name, each with its own cancellation token.
    pub(crate) sensors: BTreeMap<String, RunningSensor>,
    /// The running sinks.
    pub(crate) sinks: RunningSinks,
    /// The configured sensors as sinks see them, replaced on reload.
    sensor_list: watch::Sender<Arc<Vec<SensorInfo>>>,
    /// The sensors' input, for sinks that pass it on.
    pub(crate) raw: RawTap,
}

/// One running sensor: what it was started with and how to stop it alone.
#[derive(Debug)]
pub(crate) struct RunningSensor {
    pub(crate) config: SensorConfig,
    pub(crate) token: CancellationToken,
    pub(crate) handle: JoinHandle<()>,
}

/// How shutdown went.
#[derive(Debug, Clone)]
pub struct ShutdownReport {
    /// Tasks that missed the deadline and were aborted, by name.
    pub aborted: Vec<String>,
    /// Time from cancellation to the end of the last task.
    pub elapsed: Duration,
    /// The last frame published in this run: every client that kept up
    /// received every frame up to this one.
    pub last_seq: u64,
}

impl Daemon {
    /// A daemon for `config`, not started yet.
    pub fn new(config: Config) -> Self {
        let bus = Bus::new(config.sinks.bus_queue().unwrap_or(Bus::DEFAULT_QUEUE));
        let board = StatusBoard::new(config.sensors.iter().map(|s| s.name.as_str()));
        let sensor_list = watch::channel(Arc::new(sensor_infos(&config.sensors))).0;
        Self {
            config,
            ctx: TaskContext::new(),
            bus,
            started: false,
            notifier: Notifier::from_env(),
            board,
            status_task: None,
            sensors: BTreeMap::new(),
            sinks: RunningSinks::default(),
            sensor_list,
            raw: RawTap::default(),
        }
    }

    /// A receiver of every frame published from now on (in-process client).
    pub fn subscribe(&self) -> BusReceiver {
        self.bus.subscribe()
    }

    /// The bus, e.g. to publish from an in-process source. Do not keep a
    /// clone past shutdown: the bus closes when its last clone is dropped.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The token whose cancellation shuts the daemon down.
    pub fn token(&self) -> CancellationToken {
        self.ctx.token.clone()
    }

    /// The configuration this daemon runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The running sinks (their counters, endpoints, health).
    pub fn sinks(&self) -> &RunningSinks {
        &self.sinks
    }

    /// The bound TCP stream address (after [`start`](Daemon::start)).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.sinks.endpoint::<StreamSink, _>(|e| match e {
            Endpoint::Tcp(a) => Some(*a),
            Endpoint::Unix(_) => None,
        })
    }

    /// The Unix stream socket (after [`start`](Daemon::start)).
    pub fn unix_path(&self) -> Option<PathBuf> {
        self.sinks.endpoint::<StreamSink, _>(|e| match e {
            Endpoint::Unix(p) => Some(p.clone()),
            Endpoint::Tcp(_) => None,
        })
    }

    /// The bound metrics address (after [`start`](Daemon::start), when
    /// `[metrics]` is configured).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.sinks.endpoint::<MetricsSink, _>(|e| match e {
            Endpoint::Tcp(a) => Some(*a),
            Endpoint::Unix(_) => None,
        })
    }

    /// What sinks are started with besides their configuration.
    pub(crate) fn start_with(&self, roster: SinkRoster) -> StartWith<'_> {
        StartWith {
            ctx: &self.ctx,
            bus: &self.bus,
            vehicle_id: &self.config.daemon.vehicle_id,
            view: DaemonView {
                board: self.board.clone(),
                bus: self.bus.counters(),
                sinks: roster,
                sensors: self.sensor_list.subscribe(),
                raw: self.raw.clone(),
            },
        }
    }

    /// Starts every sink (listeners bound, files opened), then one task
    /// per sensor. A missing device is not an error (it is reported
    /// DISCONNECTED and retried); a sink that cannot start is.
    pub async fn start(&mut self) -> Result<(), DaemonError> {
        if std::mem::replace(&mut self.started, true) {
            return Err(DaemonError::AlreadyStarted);
        }
        tracing::info!(vehicle_id = %self.config.daemon.vehicle_id, sensors = self.config.sensors.len(), "daemon starting");
        let mut sinks = std::mem::take(&mut self.sinks);
        let with = self.start_with(sinks.roster().clone());
        let started = sinks.start_all(&self.config.sinks, &with).await;
        self.sinks = sinks;
        started?;
        self.status_task = Some(self.board.spawn(&self.ctx, &self.bus));
        for s in self.config.sensors.clone() {
            self.spawn_sensor(s);
        }
        self.notifier.ready(&self.status_line());
        Ok(())
    }

    /// Starts one sensor on its own child context, remembered by name.
    pub(crate) fn spawn_sensor(&mut self, config: SensorConfig) {
        let ctx = self.ctx.child();
        let handle = sensor::spawn_configured(
            &ctx,
            &self.bus,
            &config,
            self.config.daemon.health_interval,
            self.config.daemon.host_clock,
            &self.raw,
        );
        self.sensors.insert(
            config.name.clone(),
            RunningSensor {
                config,
                token: ctx.token,
                handle,
            },
        );
    }

    /// Healthy: the status board and every task of every sink still run
    /// (the watchdog is fed only then).
    pub fn health(&self) -> Result<(), String> {
        if self
            .status_task
            .as_ref()
            .is_some_and(JoinHandle::is_finished)
        {
            return Err("the status board has stopped".into());
        }
        match self.sinks.dead().first() {
            Some(sink) => Err(format!("a task of the {sink} sink has stopped")),
            None => Ok(()),
        }
    }

    /// Tells the sinks the sensors now configured (after a reload).
    pub(crate) fn publish_sensor_list(&self) {
        self.sensor_list
            .send_replace(Arc::new(sensor_infos(&self.config.sensors)));
    }

    /// The board of sensor states the status line and metrics read.
    pub fn status_board(&self) -> &StatusBoard {
        &self.board
    }

    /// The one-line summary sent as systemd `STATUS=`.
    pub fn status_line(&self) -> String {
        self.board.summary(&self.bus.consumers().snapshot())
    }

    /// Cancels every task and drains: clients get everything published
    /// before, then their connections close. Tasks still running after
    /// `shutdown_grace` are logged by name and aborted.
    pub async fn shutdown(self) -> ShutdownReport {
        let Daemon {
            config,
            ctx,
            bus,
            notifier,
            sinks,
            ..
        } = self;
        notifier.stopping();
        let started = Instant::now();
        ctx.token.cancel();
        // Producers and listeners drop their clones as they stop; ours goes
        // now, so the bus closes once they have.
        let counters = bus.counters();
        drop(bus);
        ctx.tracker.close();
        let grace = config.daemon.shutdown_grace;
        let mut aborted = Vec::new();
        if tokio::time::timeout(grace, ctx.tracker.wait())
            .await
            .is_err()
        {
            aborted = ctx.abort_all();
            for name in &aborted {
                tracing::warn!(task = %name, grace = ?grace, "task missed the shutdown deadline: aborted");
            }
            ctx.tracker.wait().await;
        }
        drop(sinks);
        let elapsed = started.elapsed();
        let last_seq = counters.last_seq();
        tracing::info!(elapsed = ?elapsed, aborted = aborted.len(), last_seq, dropped = counters.dropped(), "daemon stopped");
        ShutdownReport {
            aborted,
            elapsed,
            last_seq,
        }
    }
}

/// The configured sensors as sinks describe them.
fn sensor_infos(sensors: &[SensorConfig]) -> Vec<SensorInfo> {
    sensors
        .iter()
        .map(|s| SensorInfo {
            name: s.name.clone(),
            path: s.transport.device(),
            protocol: s.protocol.name(),
            bps: s.transport.baud(),
            raw_nmea: s.protocol.raw_nmea(),
        })
        .collect()
}
