//! The status board: the latest `SensorHealth` of every configured sensor,
//! learned from the bus (no state shared with the sensor tasks): its task
//! wakes on each health frame, not on every frame. It feeds the systemd
//! `STATUS=` line and the metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, SensorHealth, SensorState};
use tokio::sync::watch;

use crate::bus::Bus;
use crate::consumers::ConsumersSnapshot;
use crate::context::TaskContext;

/// What the board knows of one sensor.
#[derive(Debug, Clone)]
pub struct SensorEntry {
    /// The last health report (default, state STARTING, before the first).
    pub health: SensorHealth,
    /// When that report was read off the bus.
    pub received: Instant,
}

impl SensorEntry {
    /// The report's state.
    pub fn state(&self) -> SensorState {
        SensorState::try_from(self.health.state).unwrap_or(SensorState::Unspecified)
    }

    /// Time since the sensor's last good message, as of now: the age in the
    /// report plus the time since the report.
    pub fn last_message_age(&self, now: Instant) -> Option<Duration> {
        let reported = self.health.last_message_age?;
        let reported = Duration::try_from(reported).ok()?;
        Some(reported + now.saturating_duration_since(self.received))
    }
}

/// Latest health per configured sensor. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusBoard {
    sensors: Arc<RwLock<BTreeMap<String, SensorEntry>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl StatusBoard {
    /// A board for the sensors `names`, all STARTING.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let board = Self {
            sensors: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        };
        board.set_sensors(names);
        board
    }

    /// Makes `names` the configured sensors (after a reload): new ones
    /// start as STARTING, ones no longer configured are forgotten and their
    /// late frames ignored.
    pub fn set_sensors<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let names: Vec<&str> = names.into_iter().collect();
        {
            let mut map = self.write();
            map.retain(|k, _| names.contains(&k.as_str()));
            for n in names {
                map.entry(n.to_owned()).or_insert_with(|| SensorEntry {
                    health: SensorHealth {
                        state: SensorState::Starting as i32,
                        ..Default::default()
                    },
                    received: Instant::now(),
                });
            }
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Copies of every entry, by sensor name.
    pub fn snapshot(&self) -> BTreeMap<String, SensorEntry> {
        self.sensors
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes each time a sensor's state changes (or the sensor set does).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Starts the task (`status board`) that reads each sensor's last
    /// health frame off `bus` after every health frame, until the bus
    /// closes.
    pub fn spawn(&self, ctx: &TaskContext, bus: &Bus) -> tokio::task::JoinHandle<()> {
        let mut signal = bus.watch_health();
        let view = bus.counters();
        let board = self.clone();
        ctx.spawn("status board", async move {
            // The `seq` of each sensor's health frame already taken: a
            // frame is taken once, so `received` is when it was new.
            let mut taken: HashMap<String, u64> = HashMap::new();
            loop {
                let open = signal.changed().await.is_ok();
                for p in view.latest() {
                    let f = p.frame();
                    let Some(Body::Health(h)) = &f.body else {
                        continue;
                    };
                    let seen = taken.entry(f.sensor.clone()).or_default();
                    if f.seq != *seen {
                        *seen = f.seq;
                        board.update(&f.sensor, h);
                    }
                }
                if !open {
                    return;
                }
            }
        })
    }

    fn update(&self, sensor: &str, h: &SensorHealth) {
        let changed = {
            let mut map = self.write();
            let Some(e) = map.get_mut(sensor) else {
                return; // not (or no longer) configured
            };
            let changed = e.health.state != h.state;
            e.health = h.clone();
            e.received = Instant::now();
            changed
        };
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    /// The one-line summary systemd shows: `gps ONLINE, fc STALE, 2 clients`.
    pub fn summary(&self, consumers: &ConsumersSnapshot) -> String {
        let mut parts: Vec<String> = self
            .snapshot()
            .iter()
            .map(|(name, e)| format!("{name} {}", state_name(e.state())))
            .collect();
        let n = consumers.clients();
        parts.push(format!("{n} client{}", if n == 1 { "" } else { "s" }));
        parts.join(", ")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, SensorEntry>> {
        self.sensors
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `ONLINE`, `STALE`, ...: the state's proto name without its prefix.
pub fn state_name(s: SensorState) -> &'static str {
    let name = s.as_str_name();
    name.strip_prefix("SENSOR_STATE_").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn health_frames_update_the_summary_and_unknown_sensors_are_ignored() {
        let ctx = TaskContext::new();
        let bus = Bus::new(16);
        let board = StatusBoard::new(["gps", "fc"]);
        board.spawn(&ctx, &bus);
        let mut w = board.watch();
        w.mark_unchanged();
        let health = |state: SensorState| {
            Body::Health(SensorHealth {
                state: state as i32,
                ..Default::default()
            })
        };
        bus.publish("gps", health(SensorState::Online));
        bus.publish("ghost", health(SensorState::Online));
        bus.publish("fc", health(SensorState::Stale));
        let _client = bus.subscribe_as(crate::consumers::ConsumerId {
            sink: "stream".into(),
            peer: Some("unix#1".into()),
        });
        tokio::time::timeout(Duration::from_secs(5), async {
            while board.snapshot()["fc"].state() != SensorState::Stale {
                w.changed().await.expect("board alive");
            }
        })
        .await
        .expect("board saw the frames");
        let s = board.summary(&bus.consumers().snapshot());
        assert_eq!(s, "fc STALE, gps ONLINE, 1 client");
        board.set_sensors(["gps"]);
        assert_eq!(board.summary(&Default::default()), "gps ONLINE, 0 clients");
    }
}
