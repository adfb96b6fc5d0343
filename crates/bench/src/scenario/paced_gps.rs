//! GPS alone at its nominal 10 Hz through dronetel and through gpsd, and
//! the machine's floor: what a thread that only sleeps and wakes costs
//! here. Together they tell how much of the nominal-rate CPU is the
//! daemons' work and how much is the price of waking up at all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use firmware_sim::flood::{FloodDevice, FloodLink};

use super::rig::{self, Clients, Scratch, DEADLINE, WARMUP_CYCLES};
use super::runs::{gpsd_wait_quiet, gpsd_warm_up, record_cycles};
use crate::daemon::Daemon;
use crate::gpsd::{Gpsd, Watcher};
use crate::procfs::{status_field, Usage};

/// A GPS receiver's nominal cycle: 10 Hz.
const PERIOD: Duration = Duration::from_millis(100);
/// How long a daemon may stay silent after the last cycle before it is
/// taken as done.
const QUIET: Duration = Duration::from_millis(300);

/// What one paced run measured.
#[derive(Debug, Clone)]
pub struct PacedResult {
    /// The paced stretch (cycles × period), the CPU share's denominator.
    pub wall: Duration,
    /// The process's (or thread's) counters over it.
    pub usage: Usage,
    /// Frames (dronetel: fixes and health) or TPV reports (gpsd) received.
    pub reports: u64,
}

impl PacedResult {
    /// Share of one core, percent.
    pub fn cpu_percent(&self) -> f64 {
        self.usage.sched.as_secs_f64() / self.wall.as_secs_f64() * 100.0
    }

    /// Voluntary context switches (the process's own wake-ups) per second.
    pub fn wakeups_per_sec(&self) -> f64 {
        self.usage.voluntary as f64 / self.wall.as_secs_f64()
    }
}

fn cycles(secs: u64) -> usize {
    (Duration::from_secs(secs).as_nanos() / PERIOD.as_nanos()) as usize
}

/// GPS at 10 Hz into dronetel for `secs`, one stream client.
pub async fn gps_dronetel(secs: u64) -> anyhow::Result<PacedResult> {
    let scratch = Scratch::new("paced-gps-dronetel")?;
    let spec = rig::spec(FloodDevice::Gps, &scratch.0);
    let link = Arc::new(FloodLink::open(&spec.path)?);
    let n = cycles(secs);
    let rec = Arc::new(record_cycles(FloodDevice::Gps, WARMUP_CYCLES + n));
    let daemon = Daemon::start(&scratch.0, &[spec], 8)?;
    let last = rec.cycles[WARMUP_CYCLES + n - 1].time;
    let clients = Clients::connect(&daemon, 1, last).await?;
    let t0 = tokio::time::Instant::now();
    rig::write_cycles(link.clone(), rec.clone(), 0..WARMUP_CYCLES, t0, PERIOD).await?;
    clients.wait_for(rec.cycles[WARMUP_CYCLES - 2].time).await?;
    let frames_before = clients.first_frames();
    let before = rig::usage(daemon.pid())?;
    let t0 = tokio::time::Instant::now();
    let range = WARMUP_CYCLES..WARMUP_CYCLES + n;
    rig::write_cycles(link.clone(), rec.clone(), range, t0, PERIOD).await?;
    clients.wait_for(last).await?;
    let usage = rig::usage(daemon.pid())?.since(&before);
    let frames = clients.first_frames().saturating_sub(frames_before);
    tokio::time::timeout(DEADLINE, clients.finish()).await??;
    drop(link);
    Ok(PacedResult {
        wall: PERIOD * n as u32,
        usage,
        reports: frames,
    })
}

/// The same GPS stream at 10 Hz into gpsd for `secs`, one `gpspipe -w`.
pub async fn gps_gpsd(secs: u64) -> anyhow::Result<PacedResult> {
    let scratch = Scratch::new("paced-gps-gpsd")?;
    let path = scratch.0.join("gps");
    let link = Arc::new(FloodLink::open(&path)?);
    let gpsd = Gpsd::start(&scratch.0, &path)?;
    watched(gpsd.pid(), gpsd.watcher(), link, secs).await
}

/// The same GPS stream at 10 Hz into dronetel for `secs`, read by one
/// `gpspipe -w` on its `[gpsd]` port (no stream client): the CPU per TPV
/// delivered, to compare with gpsd's.
pub async fn gps_dronetel_gpsd_port(secs: u64) -> anyhow::Result<PacedResult> {
    let scratch = Scratch::new("paced-gps-dronetel-gpsd")?;
    let spec = rig::spec(FloodDevice::Gps, &scratch.0);
    let link = Arc::new(FloodLink::open(&spec.path)?);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("picking a free port")?
        .port();
    let daemon = Daemon::start_with(
        &scratch.0,
        &[spec],
        8,
        &format!("\n[gpsd]\nlisten = \"127.0.0.1:{port}\"\n"),
    )?;
    let watcher = Watcher::start(port)?;
    watched(daemon.pid(), &watcher, link, secs).await
}

/// GPS cycles at 10 Hz into the gpsd server `pid` (gpsd, or dronetel's
/// `[gpsd]` port) through `link` for `secs`, after a warm-up until its
/// `gpspipe -w` `watcher` reports and goes quiet: the server's counters
/// and the TPVs delivered.
async fn watched(
    pid: u32,
    watcher: &Watcher,
    link: Arc<FloodLink>,
    secs: u64,
) -> anyhow::Result<PacedResult> {
    let n = cycles(secs);
    // gpsd first identifies the receiver: warm up, paced, until it reports.
    let rec = Arc::new(record_cycles(FloodDevice::Gps, 8 * WARMUP_CYCLES + n));
    let next = gpsd_warm_up(watcher, &link, &rec, WARMUP_CYCLES, PERIOD).await?;
    gpsd_wait_quiet(watcher, QUIET).await?;
    let settled = watcher.tpv_reports();
    let before = rig::usage(pid)?;
    let t0 = tokio::time::Instant::now();
    rig::write_cycles(link.clone(), rec.clone(), next..next + n, t0, PERIOD).await?;
    let last = gpsd_wait_quiet(watcher, QUIET).await?;
    let usage = rig::usage(pid)?.since(&before);
    Ok(PacedResult {
        wall: PERIOD * n as u32,
        usage,
        reports: last.0 - settled,
    })
}

/// A thread that sleeps `1/hz` s and wakes, `hz` times a second for `secs`,
/// doing nothing else: the cost of a wake-up on this machine, which no
/// event-driven daemon can go below for its wake-ups.
pub fn wake_floor(hz: u32, secs: u64) -> anyhow::Result<PacedResult> {
    let hz = hz.max(1);
    std::thread::spawn(move || {
        let before = thread_usage()?;
        let period = Duration::from_secs(1) / hz;
        let start = Instant::now();
        for _ in 0..u64::from(hz) * secs {
            std::thread::sleep(period);
        }
        let wall = start.elapsed();
        let usage = thread_usage()?.since(&before);
        Ok(PacedResult {
            wall,
            usage,
            reports: u64::from(hz) * secs,
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the wake-up thread panicked"))?
}

/// The calling thread's on-CPU time and context switches.
fn thread_usage() -> anyhow::Result<Usage> {
    let sched = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("reading /proc/thread-self/schedstat")?;
    let ns: u64 = sched
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("unexpected /proc/thread-self/schedstat")?;
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .context("reading /proc/thread-self/status")?;
    let voluntary = status_field(&status, "voluntary_ctxt_switches:").unwrap_or(0);
    let preempted = status_field(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
    Ok(Usage {
        cpu: Duration::from_nanos(ns),
        sched: Duration::from_nanos(ns),
        switches: voluntary + preempted,
        voluntary,
        hwm_kib: 0,
        anon_kib: 0,
    })
}
