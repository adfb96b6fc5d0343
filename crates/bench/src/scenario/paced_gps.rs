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
    /// Frames (dronetel's stream) or TPV reports (gpsd, dronetel's `[gpsd]`
    /// port) received.
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

/// Cycles of `period` in `secs`.
fn cycles(secs: u64, period: Duration) -> usize {
    (Duration::from_secs(secs).as_nanos() / period.as_nanos().max(1)) as usize
}

/// GPS at 10 Hz into dronetel for `secs`, one stream client.
pub async fn gps_dronetel(secs: u64) -> anyhow::Result<PacedResult> {
    let scratch = Scratch::new("paced-gps-dronetel")?;
    let spec = rig::spec(FloodDevice::Gps, &scratch.0);
    let link = Arc::new(FloodLink::open(&spec.path)?);
    let n = cycles(secs, PERIOD);
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

/// gpsd and dronetel's `[gpsd]` port side by side for `secs`, each read
/// by one `gpspipe -w` and fed the same GPS cycles, `hz` a second (a
/// receiver's 10, or more to keep the caches warm between cycles) on its
/// own pty, dronetel half a period after gpsd: (gpsd, dronetel).
///
/// Both are measured over the same stretch, so a slower or busier
/// machine weighs on both alike; run one after the other, the ratio
/// moved by a third between runs on a virtual machine whose speed
/// drifts over tens of seconds. Half a period apart, neither wakes
/// while the other works.
pub async fn gps_gpsd_and_dronetel(
    secs: u64,
    hz: u32,
) -> anyhow::Result<(PacedResult, PacedResult)> {
    let period = Duration::from_secs(1) / hz.max(1);
    let g_scratch = Scratch::new("paced-gps-gpsd")?;
    let g_path = g_scratch.0.join("gps");
    let g_link = Arc::new(FloodLink::open(&g_path)?);
    let gpsd = Gpsd::start(&g_scratch.0, &g_path)?;

    let d_scratch = Scratch::new("paced-gps-dronetel-gpsd")?;
    let spec = rig::spec(FloodDevice::Gps, &d_scratch.0);
    let d_link = Arc::new(FloodLink::open(&spec.path)?);
    let port = crate::free_port().context("picking a free port")?;
    let daemon = Daemon::start_with(
        &d_scratch.0,
        &[spec],
        8,
        &format!("\n[gpsd]\nlisten = \"127.0.0.1:{port}\"\n"),
    )?;
    let d_watcher = Watcher::start(port)?;

    let n = cycles(secs, period);
    // gpsd first identifies the receiver: warm both up, paced, until each
    // reports; the measured cycles then follow the later of the two.
    let rec = Arc::new(record_cycles(FloodDevice::Gps, 16 * WARMUP_CYCLES + n));
    let g_next = gpsd_warm_up(gpsd.watcher(), &g_link, &rec, WARMUP_CYCLES, period).await?;
    let d_next = gpsd_warm_up(&d_watcher, &d_link, &rec, WARMUP_CYCLES, period).await?;
    let next = g_next.max(d_next);
    gpsd_wait_quiet(gpsd.watcher(), QUIET).await?;
    gpsd_wait_quiet(&d_watcher, QUIET).await?;
    let g_settled = gpsd.watcher().tpv_reports();
    let d_settled = d_watcher.tpv_reports();
    let g_before = rig::usage(gpsd.pid())?;
    let d_before = rig::usage(daemon.pid())?;
    let t0 = tokio::time::Instant::now();
    let range = next..next + n;
    tokio::try_join!(
        rig::write_cycles(g_link.clone(), rec.clone(), range.clone(), t0, period),
        rig::write_cycles(d_link.clone(), rec.clone(), range, t0 + period / 2, period),
    )?;
    let g_last = gpsd_wait_quiet(gpsd.watcher(), QUIET).await?;
    let d_last = gpsd_wait_quiet(&d_watcher, QUIET).await?;
    let g_usage = rig::usage(gpsd.pid())?.since(&g_before);
    let d_usage = rig::usage(daemon.pid())?.since(&d_before);
    let wall = period * n as u32;
    Ok((
        PacedResult {
            wall,
            usage: g_usage,
            reports: g_last.0 - g_settled,
        },
        PacedResult {
            wall,
            usage: d_usage,
            reports: d_last.0 - d_settled,
        },
    ))
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
