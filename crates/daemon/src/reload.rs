//! Reloading the configuration (SIGHUP, `systemctl reload`): the new file is
//! read and validated first; an invalid one is refused whole and the running
//! configuration kept. A valid one is applied as a difference: sensors whose
//! settings did not change keep running untouched, removed sensors stop,
//! new ones start, changed ones restart. Every sink goes through the sink
//! registry the same way: an unchanged one is not touched (its clients
//! stay connected, no frame is lost); a changed one is stopped, after
//! handling what was published before (a recording is finished, listeners
//! close while their clients keep draining), and started with its new
//! settings; if those fail, its old settings are started again.
//!
//! Not applied without a restart: the bus queue (`stream.client_queue`),
//! sized once; a reload that changes it keeps the running size and says so.

use std::path::Path;

use crate::config::ConfigError;
use crate::config_file::Config;
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
    /// Sinks stopped, started or restarted because their settings changed.
    pub sinks_changed: Vec<String>,
    /// What could not be applied (the rest was).
    pub problems: Vec<String>,
}

impl Daemon {
    /// Reads and validates `path` (with the checks of `run`, devices and
    /// socket directory included), then applies it. An invalid file
    /// changes nothing and is returned as the error.
    pub async fn reload_from(&mut self, path: &Path) -> Result<ReloadSummary, ConfigError> {
        let new = Config::load(path)?;
        new.check_environment()?;
        Ok(self.apply(new).await)
    }

    /// Applies a validated configuration as a difference to the running one.
    pub async fn apply(&mut self, mut new: Config) -> ReloadSummary {
        let mut sum = ReloadSummary::default();
        let (running, wanted) = (self.bus_queue(), new.sinks.bus_queue());
        if let (Some(running), Some(wanted)) = (running, wanted) {
            if running != wanted {
                sum.problems.push(format!(
                    "stream.client_queue change ({running} -> {wanted}) needs a restart; keeping {running}"
                ));
                new.sinks.pin_bus_queue(running);
            }
        }
        let grace = new.daemon.shutdown_grace;
        let vehicle_changed = new.daemon.vehicle_id != self.config.daemon.vehicle_id;

        // Sensors: stop the removed and the changed ones first (a changed
        // one may keep its device path), then start the new ones.
        // Every running sensor was started with the running daemon
        // settings: a change to those restarts them all.
        let daemon_same = new.daemon.health_interval == self.config.daemon.health_interval
            && new.daemon.host_clock == self.config.daemon.host_clock;
        let mut stopping: Vec<(String, RunningSensor)> = Vec::new();
        let names: Vec<String> = self.sensors.keys().cloned().collect();
        for name in names {
            let running = self.sensors.get(&name);
            let same = new
                .sensors
                .iter()
                .find(|s| s.name == name)
                .map(|s| daemon_same && running.is_some_and(|r| *s == r.config));
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
        // A removed sensor's last frames go too: `?POLL;` must not report
        // a device that is no longer configured.
        for name in &sum.stopped {
            self.bus.forget(name);
        }
        self.board
            .set_sensors(new.sensors.iter().map(|s| s.name.as_str()));
        let old = std::mem::replace(&mut self.config, new.clone());
        self.publish_sensor_list();
        for s in &new.sensors {
            if !self.sensors.contains_key(&s.name) {
                if !sum.restarted.contains(&s.name) {
                    sum.started.push(s.name.clone());
                }
                self.spawn_sensor(s.clone());
            }
        }

        let mut sinks = std::mem::take(&mut self.sinks);
        let with = self.start_with(sinks.roster().clone());
        let changes = sinks
            .reload(&old.sinks, &mut new.sinks, vehicle_changed, grace, &with)
            .await;
        self.sinks = sinks;
        self.config.sinks = new.sinks;
        sum.sinks_changed = changes.changed;
        sum.problems.extend(changes.problems);
        sum
    }

    /// The bus queue of the running configuration.
    fn bus_queue(&self) -> Option<usize> {
        self.config.sinks.bus_queue()
    }
}
