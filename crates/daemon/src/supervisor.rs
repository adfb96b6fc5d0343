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
//!         println!("{} {}", p.frame.seq, p.frame.sensor);
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
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, BusReceiver};
use crate::config::{Config, SensorConfig};
use crate::context::TaskContext;
use crate::metrics::{DaemonCollector, MetricsServer};
use crate::notify::Notifier;
use crate::sensor;
use crate::sink::{start_sinks, Outputs, SinkError, StreamError, StreamSink};
use crate::status::StatusBoard;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A stream listener could not be bound.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// An optional sink could not start (socket, recording directory).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// [`Daemon::start`] was called twice.
    #[error("the daemon is already started")]
    AlreadyStarted,
    /// The metrics endpoint could not be bound.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

impl DaemonError {
    /// The configuration table and keys (first match wins) behind a
    /// start-up failure that the configuration caused (an address in use,
    /// an unusable directory), so the binary can report it as a
    /// configuration error at its line; `None` for other failures.
    pub fn config_key(&self) -> Option<(&'static str, &'static [&'static str])> {
        use crate::sink::SinkError;
        match self {
            DaemonError::Stream(StreamError::Tcp { .. }) => Some(("stream", &["tcp"])),
            DaemonError::Stream(StreamError::Unix { .. }) => Some(("stream", &["unix"])),
            DaemonError::Metrics(_) => Some(("metrics", &["listen"])),
            DaemonError::Sink(SinkError::Udp(_)) => Some(("udp", &["bind", "target"])),
            DaemonError::Sink(SinkError::Record(_)) => Some(("record", &["dir"])),
            DaemonError::Sink(SinkError::Mqtt(_)) => Some(("mqtt", &["password_file", "url"])),
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
    pub(crate) tcp_addr: Option<SocketAddr>,
    pub(crate) unix_path: Option<PathBuf>,
    pub(crate) metrics_addr: Option<SocketAddr>,
    started: bool,
    pub(crate) notifier: Notifier,
    pub(crate) board: StatusBoard,
    /// Running sensors by name, each with its own cancellation token.
    pub(crate) sensors: BTreeMap<String, RunningSensor>,
    /// Context of the stream listeners (a child of `ctx`).
    pub(crate) stream_ctx: Option<TaskContext>,
    /// Context of the optional sinks (a child of `ctx`).
    pub(crate) outputs_ctx: Option<TaskContext>,
    /// Counters of the optional sinks.
    pub(crate) outputs: Outputs,
    /// Context of the metrics endpoint (a child of `ctx`).
    pub(crate) metrics_ctx: Option<TaskContext>,
    /// Where the configuration is re-read from on SIGHUP.
    pub(crate) reload: Option<crate::service::ReloadSource>,
}

/// One running sensor: what it was started with and how to stop it alone.
#[derive(Debug)]
pub(crate) struct RunningSensor {
    pub(crate) config: SensorConfig,
    pub(crate) health_interval: Duration,
    pub(crate) token: CancellationToken,
    pub(crate) handle: tokio::task::JoinHandle<()>,
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
        let bus = Bus::new(config.stream.client_queue);
        let board = StatusBoard::new(config.sensors.iter().map(|s| s.name.as_str()));
        Self {
            config,
            ctx: TaskContext::new(),
            bus,
            tcp_addr: None,
            unix_path: None,
            metrics_addr: None,
            started: false,
            notifier: Notifier::from_env(),
            board,
            sensors: BTreeMap::new(),
            stream_ctx: None,
            outputs_ctx: None,
            outputs: Outputs::default(),
            metrics_ctx: None,
            reload: None,
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

    /// The bound TCP stream address (after [`start`](Daemon::start)).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// The bound metrics address (after [`start`](Daemon::start), when
    /// `[metrics]` is configured).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The Unix stream socket (after [`start`](Daemon::start)).
    pub fn unix_path(&self) -> Option<&Path> {
        self.unix_path.as_deref()
    }

    /// Binds the stream listeners and starts serving, then starts one task
    /// per sensor. A missing device is not an error (it is reported
    /// DISCONNECTED and retried); a listener that cannot bind is.
    pub async fn start(&mut self) -> Result<(), DaemonError> {
        if std::mem::replace(&mut self.started, true) {
            return Err(DaemonError::AlreadyStarted);
        }
        tracing::info!(vehicle_id = %self.config.daemon.vehicle_id, sensors = self.config.sensors.len(), "daemon starting");
        let stream = self.config.stream.clone();
        let metrics = self.config.metrics.clone();
        let sink = StreamSink::bind(&stream).await?;
        let metrics = match &metrics {
            Some(m) => Some(MetricsServer::bind(m.listen).await?),
            None => None,
        };
        self.spawn_outputs().await?;
        self.spawn_stream(sink);
        self.board.spawn(&self.ctx, &self.bus);
        if let Some(m) = metrics {
            self.spawn_metrics(m);
        }
        for s in self.config.sensors.clone() {
            self.spawn_sensor(s);
        }
        self.notifier.ready(&self.status_line());
        Ok(())
    }

    /// Serves a bound stream sink on its own child context (so a reload can
    /// replace the listeners alone).
    pub(crate) fn spawn_stream(&mut self, sink: StreamSink) {
        self.tcp_addr = sink.tcp_addr();
        self.unix_path = sink.unix_path().map(Path::to_path_buf);
        let ctx = self.ctx.child();
        sink.spawn(&ctx, &self.bus);
        self.stream_ctx = Some(ctx);
    }

    /// Starts the optional sinks (`[udp]`, `[record]`, `[mqtt]`) of the
    /// current configuration on their own child context.
    pub(crate) async fn spawn_outputs(&mut self) -> Result<(), SinkError> {
        let ctx = self.ctx.child();
        self.outputs = start_sinks(&ctx, &self.bus, &self.config).await?;
        self.outputs_ctx = Some(ctx);
        Ok(())
    }

    /// Counters of the started optional sinks.
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// Serves a bound metrics endpoint on its own child context.
    pub(crate) fn spawn_metrics(&mut self, m: MetricsServer) {
        self.metrics_addr = m.local_addr();
        let ctx = self.ctx.child();
        let collector = DaemonCollector::new(self.board.clone(), self.bus.counters());
        m.spawn(&ctx, collector.registry());
        self.metrics_ctx = Some(ctx);
    }

    /// Starts one sensor on its own child context, remembered by name.
    pub(crate) fn spawn_sensor(&mut self, config: SensorConfig) {
        let ctx = self.ctx.child();
        let health_interval = self.config.daemon.health_interval;
        let handle = sensor::spawn_configured(&ctx, &self.bus, &config, health_interval);
        self.sensors.insert(
            config.name.clone(),
            RunningSensor {
                config,
                health_interval,
                token: ctx.token,
                handle,
            },
        );
    }

    /// Names of the tasks that must run as long as the daemon does: the
    /// watchdog is fed only while they all are.
    pub(crate) fn essential(&self) -> Vec<&'static str> {
        let mut v = vec!["status board"];
        if self.tcp_addr.is_some() {
            v.push("stream tcp");
        }
        if self.unix_path.is_some() {
            v.push("stream unix");
        }
        if self.metrics_addr.is_some() {
            v.push("metrics http");
        }
        v
    }

    /// The board of sensor states the status line and metrics read.
    pub fn status_board(&self) -> &StatusBoard {
        &self.board
    }

    /// The one-line summary sent as systemd `STATUS=`.
    pub fn status_line(&self) -> String {
        self.board.summary(&self.bus.consumers().snapshot())
    }

    /// Waits until the token is cancelled (a signal, or anyone holding
    /// [`token`](Daemon::token)), keeping systemd informed (status changes,
    /// watchdog), then shuts down.
    pub async fn run_until_cancelled(mut self) -> ShutdownReport {
        crate::service::serve(&mut self).await;
        self.shutdown().await
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

/// Runs the daemon for `config`, read from `path`, until SIGINT/SIGTERM
/// (as [`run`]); SIGHUP re-reads `path` and applies it (see
/// [`reload`](crate::reload)).
pub async fn run_reloadable(config: Config, path: PathBuf) -> Result<ShutdownReport, DaemonError> {
    let mut daemon = Daemon::new(config);
    crate::signals::spawn_signal_handler(daemon.token()).map_err(DaemonError::Signals)?;
    // Installed before start: SIGHUP's default action would end the process.
    daemon.reload = Some(crate::service::ReloadSource::new(path).map_err(DaemonError::Signals)?);
    daemon.start().await?;
    Ok(daemon.run_until_cancelled().await)
}

/// Runs the daemon for `config` until SIGINT/SIGTERM (a second signal exits
/// at once), then shuts it down within `shutdown_grace`.
pub async fn run(config: Config) -> Result<ShutdownReport, DaemonError> {
    let mut daemon = Daemon::new(config);
    crate::signals::spawn_signal_handler(daemon.token()).map_err(DaemonError::Signals)?;
    daemon.start().await?;
    Ok(daemon.run_until_cancelled().await)
}
