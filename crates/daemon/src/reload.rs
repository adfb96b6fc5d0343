//! Reloading the configuration (SIGHUP, `systemctl reload`): the new file is
//! read and validated first; an invalid one is refused whole and the running
//! configuration kept. A valid one is applied as a difference: sensors and
//! listeners whose settings did not change keep running untouched (their
//! clients stay connected, no frame is lost), removed sensors stop, new ones
//! start, changed ones restart. The same holds for the optional sinks
//! (`[udp]`, `[record]`, `[mqtt]`): a changed one is stopped, after handling
//! what was published before (the recording file is finished), and started
//! with its new settings; the others are not touched.
//!
//! Not applied without a restart: `stream.client_queue` (the bus is sized
//! once); a reload that changes it keeps the running size and says so.

use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::metrics::MetricsServer;
use crate::sink::{start_sink, OptionalSink, StreamSink};
use crate::supervisor::{Daemon, RunningSensor};

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Sensors started (new in the file).
    pub started: Vec<String>,
    /// Sensors stopped (gone from the file).
    pub stopped: Vec<String>,
    /// Sensors restarted because their settings changed.
    pub restarted: Vec<String>,
    /// Sensors left running untouched.
    pub kept: Vec<String>,
    /// True if the stream listeners were replaced.
    pub stream_restarted: bool,
    /// Optional sinks (`udp`, `record`, `mqtt`) stopped, started or
    /// restarted because their settings changed.
    pub sinks_changed: Vec<String>,
    /// True if the metrics endpoint was replaced, started or stopped.
    pub metrics_changed: bool,
    /// What could not be applied (the rest was).
    pub problems: Vec<String>,
}

impl Daemon {
    /// Reads and validates `path`, then applies it. An invalid file changes
    /// nothing and is returned as the error.
    pub async fn reload_from(&mut self, path: &Path) -> Result<ReloadSummary, ConfigError> {
        let new = Config::load(path)?;
        Ok(self.apply(new).await)
    }

    /// Applies a validated configuration as a difference to the running one.
    pub async fn apply(&mut self, mut new: Config) -> ReloadSummary {
        let mut sum = ReloadSummary::default();
        if new.stream.client_queue != self.config.stream.client_queue {
            sum.problems.push(format!(
                "stream.client_queue change ({} -> {}) needs a restart; keeping {}",
                self.config.stream.client_queue,
                new.stream.client_queue,
                self.config.stream.client_queue
            ));
            new.stream.client_queue = self.config.stream.client_queue;
        }
        // Decided before `self.config` takes the new daemon settings (the
        // vehicle id names topics and files).
        let sinks: Vec<OptionalSink> = OptionalSink::ALL
            .into_iter()
            .filter(|sink| !sink.same_in(&self.config, &new))
            .collect();
        let grace = new.daemon.shutdown_grace;

        // Sensors: stop the removed and the changed ones first (a changed
        // one may keep its device path), then start the new ones.
        let interval = new.daemon.health_interval;
        let mut stopping: Vec<(String, RunningSensor)> = Vec::new();
        let names: Vec<String> = self.sensors.keys().cloned().collect();
        for name in names {
            let same = new.sensors.iter().find(|s| s.name == name).map(|s| {
                *s == self.sensors[&name].config && interval == self.sensors[&name].health_interval
            });
            match same {
                Some(true) => sum.kept.push(name),
                Some(false) => {
                    sum.restarted.push(name.clone());
                    stopping.extend(self.sensors.remove_entry(&name));
                }
                None => {
                    sum.stopped.push(name.clone());
                    stopping.extend(self.sensors.remove_entry(&name));
                }
            }
        }
        for (name, running) in stopping {
            running.token.cancel();
            let abort = running.handle.abort_handle();
            if tokio::time::timeout(grace, running.handle).await.is_err() {
                abort.abort();
                sum.problems.push(format!(
                    "sensor {name} did not stop within {grace:?}: aborted"
                ));
            }
        }
        self.board
            .set_sensors(new.sensors.iter().map(|s| s.name.as_str()));
        self.config.daemon = new.daemon.clone();
        for s in &new.sensors {
            if !self.sensors.contains_key(&s.name) {
                if !sum.restarted.contains(&s.name) {
                    sum.started.push(s.name.clone());
                }
                self.spawn_sensor(s.clone());
            }
        }

        if new.stream != self.config.stream {
            sum.stream_restarted = true;
            self.replace_stream(&new, &mut sum).await;
        }
        if new.metrics != self.config.metrics {
            sum.metrics_changed = true;
            self.replace_metrics(&new, &mut sum).await;
        }
        for sink in sinks {
            sum.sinks_changed.push(sink.as_str().to_owned());
            self.replace_sink(sink, &new, grace, &mut sum).await;
        }
        self.config.outputs = new.outputs;
        self.config.sensors = new.sensors;
        sum
    }

    /// Stops `sink` (it handles what was published before: a recording is
    /// finished) and starts it again from `new`, if there.
    async fn replace_sink(
        &mut self,
        sink: OptionalSink,
        new: &Config,
        grace: std::time::Duration,
        sum: &mut ReloadSummary,
    ) {
        if let Some(old) = self.outputs.take(sink) {
            old.stop.cancel();
            wait_gone(&self.ctx, sink.tasks(), grace).await;
        }
        let ctx = self
            .outputs_ctx
            .get_or_insert_with(|| self.ctx.child())
            .clone();
        match start_sink(&ctx, &self.bus, new, sink).await {
            Ok(Some(started)) => self.outputs.sinks.push(started),
            Ok(None) => {}
            Err(e) => sum.problems.push(format!(
                "{} sink: {e}; it stays stopped until a reload fixes it",
                sink.as_str()
            )),
        }
    }

    /// Stops the stream listeners (connected clients keep their frames),
    /// then binds the new ones; if that fails, binds the old ones again.
    async fn replace_stream(&mut self, new: &Config, sum: &mut ReloadSummary) {
        if let Some(ctx) = self.stream_ctx.take() {
            ctx.token.cancel();
            wait_gone(&self.ctx, &["stream tcp", "stream unix"], LISTENER_STOP).await;
        }
        self.tcp_addr = None;
        self.unix_path = None;
        match StreamSink::bind(&new.stream).await {
            Ok(sink) => {
                self.spawn_stream(sink);
                self.config.stream = new.stream.clone();
            }
            Err(e) => {
                sum.problems
                    .push(format!("new stream listeners: {e}; keeping the old ones"));
                match StreamSink::bind(&self.config.stream).await {
                    Ok(sink) => self.spawn_stream(sink),
                    Err(e) => sum.problems.push(format!("old stream listeners: {e}")),
                }
            }
        }
    }

    /// Stops the metrics endpoint and starts the new one (if any).
    async fn replace_metrics(&mut self, new: &Config, sum: &mut ReloadSummary) {
        if let Some(ctx) = self.metrics_ctx.take() {
            ctx.token.cancel();
            wait_gone(&self.ctx, &["metrics http"], LISTENER_STOP).await;
        }
        self.metrics_addr = None;
        if let Some(m) = &new.metrics {
            match MetricsServer::bind(m.listen).await {
                Ok(server) => self.spawn_metrics(server),
                Err(e) => sum.problems.push(e.to_string()),
            }
        }
        self.config.metrics = new.metrics.clone();
    }
}

/// How long a listener may take to close (accept loops stop at once on
/// cancellation, so this is a bound, not a wait).
const LISTENER_STOP: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits until no task named in `names` runs, at most `limit`; a task still
/// running then is named in the log and left to finish on its own.
async fn wait_gone(ctx: &crate::context::TaskContext, names: &[&str], limit: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while ctx.running().iter().any(|r| names.contains(&r.as_str())) {
        if tokio::time::Instant::now() > deadline {
            tracing::warn!(tasks = ?names, ?limit, "tasks did not stop in time; they finish on their own");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
