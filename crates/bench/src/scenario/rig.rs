//! The bench rig: the sensors' flood ptys, one daemon, N stream clients,
//! the pty writers (as fast as read, or paced) and the latency matching of
//! a GPS cycle's last write to each client's receipt of its fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use firmware_sim::flood::{FloodDevice, FloodLink, Recording};
use tokio::task::JoinHandle;

use crate::client::{self, Received};
use crate::daemon::{Daemon, SensorSpec};
use crate::procfs::{self, Usage};
use crate::stats::Latency;

/// GPS cycles written before measuring, to prove the links are open.
pub const WARMUP_CYCLES: usize = 20;
/// Longest wait for anything the rig waits for (not a timing).
pub const DEADLINE: Duration = Duration::from_secs(120);

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `$TMPDIR/dronetel-bench-PID-name`, fresh.
    pub fn new(name: &str) -> anyhow::Result<Scratch> {
        let dir =
            std::env::temp_dir().join(format!("dronetel-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    /// Removed unless `DRONETEL_BENCH_KEEP` is set (to read the logs).
    fn drop(&mut self) {
        if std::env::var_os("DRONETEL_BENCH_KEEP").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The configuration entry and pty name of a flood device.
pub fn spec(device: FloodDevice, dir: &Path) -> SensorSpec {
    let (name, kind, protocol) = match device {
        FloodDevice::Gps => ("gps", "gps", "nmea"),
        FloodDevice::Fc => ("fc", "flight_controller", "mavlink"),
        FloodDevice::Tracker => ("tracker", "tracking", "tracker"),
    };
    SensorSpec {
        name,
        kind,
        protocol,
        path: dir.join(name),
    }
}

/// Milliseconds since the epoch (the fixes' resolution).
pub fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// The clients of one run, each noting its fixes; they stop once the fix
/// of `last` arrived.
pub struct Clients {
    tasks: Vec<JoinHandle<std::io::Result<Received>>>,
    /// Latest fix time (ms) seen by each client.
    progress: Vec<Arc<AtomicU64>>,
    /// Frames received by the first client, as of its latest fix.
    first_frames: Arc<AtomicU64>,
}

impl Clients {
    /// Connects `n` clients to the daemon's socket.
    pub async fn connect(daemon: &Daemon, n: usize, last: SystemTime) -> anyhow::Result<Clients> {
        let mut tasks = Vec::new();
        let mut progress = Vec::new();
        let last = millis(last);
        let first_frames = Arc::new(AtomicU64::new(0));
        for i in 0..n {
            let s = client::connect(&daemon.socket, Duration::from_secs(10))
                .await
                .context("connecting a stream client")?;
            let p = Arc::new(AtomicU64::new(0));
            progress.push(p.clone());
            let frames = (i == 0).then(|| first_frames.clone());
            tasks.push(tokio::spawn(client::receive(s, move |got| {
                let t = got.fixes.last().map_or(0, |f| millis(f.0));
                if let Some(f) = &frames {
                    f.store(got.frames, Ordering::Relaxed);
                }
                p.store(t, Ordering::Relaxed);
                t >= last
            })));
        }
        Ok(Clients {
            tasks,
            progress,
            first_frames,
        })
    }

    /// Frames the first client had received at its latest fix.
    pub fn first_frames(&self) -> u64 {
        self.first_frames.load(Ordering::Relaxed)
    }

    /// Waits until every client has seen a fix at or after `t`.
    pub async fn wait_for(&self, t: SystemTime) -> anyhow::Result<()> {
        let t = millis(t);
        let until = Instant::now() + DEADLINE;
        while let Some(p) = self.progress.iter().find(|p| p.load(Ordering::Relaxed) < t) {
            let seen = p.load(Ordering::Relaxed);
            anyhow::ensure!(
                Instant::now() < until,
                "a client did not receive the fix of {t} ms (its latest: {seen} ms)"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// Waits for every client to finish.
    pub async fn finish(self) -> anyhow::Result<Vec<Received>> {
        let mut out = Vec::new();
        for t in self.tasks {
            out.push(t.await.context("client task")?.context("stream client")?);
        }
        Ok(out)
    }
}

/// When each GPS cycle's last byte was written, by cycle time (ms).
#[derive(Debug, Default)]
pub struct Stamps(pub HashMap<u64, Instant>);

impl Stamps {
    /// Latencies of every fix every client received for a stamped cycle.
    pub fn latency(&self, received: &[Received]) -> Latency {
        let samples = received
            .iter()
            .flat_map(|r| &r.fixes)
            .filter_map(|(t, at)| Some(at.saturating_duration_since(*self.0.get(&millis(*t))?)))
            .collect();
        Latency::of(samples)
    }
}

/// Writes cycles `range` of `rec` to `link`, cycle `i` not before
/// `t0 + period * (i - range.start)` (`period` zero: as fast as the pty
/// takes them); returns when each cycle's write completed.
pub async fn write_cycles(
    link: Arc<FloodLink>,
    rec: Arc<Recording>,
    range: std::ops::Range<usize>,
    t0: tokio::time::Instant,
    period: Duration,
) -> std::io::Result<Stamps> {
    let mut stamps = Stamps::default();
    for (k, i) in range.enumerate() {
        if !period.is_zero() {
            tokio::time::sleep_until(t0 + period * k as u32).await;
        }
        link.write_all(rec.cycle_bytes(i)).await?;
        stamps.0.insert(millis(rec.cycles[i].time), Instant::now());
    }
    Ok(stamps)
}

/// Reads a process's counters, with the pid in the error.
pub fn usage(pid: u32) -> anyhow::Result<Usage> {
    procfs::usage(pid).with_context(|| format!("reading /proc/{pid}"))
}
