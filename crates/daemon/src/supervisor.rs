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

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, BusReceiver};
use crate::config::Config;
use crate::context::TaskContext;
use crate::sensor;
use crate::sink::{start_sinks, SinkError, Sinks};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A sink could not start (listener, socket, recording directory).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// [`Daemon::start`] was called twice.
    #[error("the daemon is already started")]
    AlreadyStarted,
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// One daemon run. Create it, optionally [`subscribe`](Daemon::subscribe)
/// (to see every frame from seq 1), [`start`](Daemon::start) it, then end it
/// with [`shutdown`](Daemon::shutdown) or
/// [`run_until_cancelled`](Daemon::run_until_cancelled).
#[derive(Debug)]
pub struct Daemon {
    config: Config,
    ctx: TaskContext,
    bus: Bus,
    sinks: Sinks,
    started: bool,
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
        Self {
            config,
            ctx: TaskContext::new(),
            bus,
            sinks: Sinks::default(),
            started: false,
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
        self.sinks.tcp_addr
    }

    /// The Unix stream socket (after [`start`](Daemon::start)).
    pub fn unix_path(&self) -> Option<&Path> {
        self.sinks.unix_path.as_deref()
    }

    /// The started sinks: addresses and counters (after [`start`](Daemon::start)).
    pub fn sinks(&self) -> &Sinks {
        &self.sinks
    }

    /// Binds the stream listeners and starts serving, then starts one task
    /// per sensor. A missing device is not an error (it is reported
    /// DISCONNECTED and retried); a listener that cannot bind is.
    pub async fn start(&mut self) -> Result<(), DaemonError> {
        if std::mem::replace(&mut self.started, true) {
            return Err(DaemonError::AlreadyStarted);
        }
        tracing::info!(vehicle_id = %self.config.daemon.vehicle_id, sensors = self.config.sensors.len(), "daemon starting");
        self.sinks = start_sinks(&self.ctx, &self.bus, &self.config).await?;
        for s in &self.config.sensors {
            sensor::spawn_configured(&self.ctx, &self.bus, s, self.config.daemon.health_interval);
        }
        Ok(())
    }

    /// Waits until the token is cancelled (a signal, or anyone holding
    /// [`token`](Daemon::token)), then shuts down.
    pub async fn run_until_cancelled(self) -> ShutdownReport {
        self.ctx.token.cancelled().await;
        self.shutdown().await
    }

    /// Cancels every task and drains: clients get everything published
    /// before, then their connections close. Tasks still running after
    /// `shutdown_grace` are logged by name and aborted.
    pub async fn shutdown(self) -> ShutdownReport {
        let Daemon {
            config, ctx, bus, ..
        } = self;
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

/// Runs the daemon for `config` until SIGINT/SIGTERM (a second signal exits
/// at once), then shuts it down within `shutdown_grace`.
pub async fn run(config: Config) -> Result<ShutdownReport, DaemonError> {
    let mut daemon = Daemon::new(config);
    crate::signals::spawn_signal_handler(daemon.token()).map_err(DaemonError::Signals)?;
    daemon.start().await?;
    Ok(daemon.run_until_cancelled().await)
}
