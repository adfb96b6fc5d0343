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
use crate::gpsd::{self, Gpsd, Watcher};
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

/// What [`gps_gpsd_and_dronetel`] measured: each server in each round.
#[derive(Debug, Clone)]
pub struct SideBySide {
    /// Each round: the gpsds in the order of the programs given, then
    /// dronetel.
    pub rounds: Vec<Vec<PacedResult>>,
}

/// Where server `server` of `servers` wakes in round `round`, in
/// `servers`ths of the period: the places turn by one each round.
pub fn place(round: usize, server: usize, servers: usize) -> usize {
    (server + round) % servers.max(1)
}

impl PacedResult {
    /// CPU per report: per TPV in the gpsd-port runs, per wake-up in
    /// [`wake_floor`].
    pub fn per_report(&self) -> Duration {
        self.usage.sched / self.reports.max(1) as u32
    }

    /// Two stretches of the same run together.
    fn plus(&self, later: &PacedResult) -> PacedResult {
        PacedResult {
            wall: self.wall + later.wall,
            usage: self.usage.plus(&later.usage),
            reports: self.reports + later.reports,
        }
    }
}

impl SideBySide {
    /// Each server over the whole run (all rounds together), in the
    /// rounds' order: the gpsds, then dronetel.
    pub fn totals(&self) -> Vec<PacedResult> {
        let servers = self.rounds.first().map_or(0, Vec::len);
        (0..servers)
            .filter_map(|i| {
                self.rounds
                    .iter()
                    .filter_map(|round| round.get(i))
                    .cloned()
                    .reduce(|a, b| a.plus(&b))
            })
            .collect()
    }

    /// dronetel's CPU per TPV over gpsd number `i`'s in each round, sorted.
    pub fn round_ratios(&self, i: usize) -> Vec<f64> {
        let mut r: Vec<f64> = self
            .rounds
            .iter()
            .filter_map(|round| {
                let ours = round.last()?.per_report().as_secs_f64();
                let theirs = round.get(i)?.per_report().as_secs_f64();
                (theirs > 0.0).then(|| ours / theirs)
            })
            .collect();
        r.sort_by(f64::total_cmp);
        r
    }
}

/// gpsd releases and dronetel's `[gpsd]` port side by side for `secs`,
/// each read by one `gpspipe -w` and fed the same GPS cycles, `hz` a
/// second (a receiver's 10, or more to keep the caches warm between
/// cycles) on its own pty, their cycles spread evenly over the period
/// (with one gpsd, half a period apart).
///
/// All are measured over the same stretch, so a slower or busier machine
/// weighs on all alike; run one after the other, the ratio moved by a
/// third between runs on a virtual machine whose speed drifts over tens
/// of seconds. Spread over the period, none wakes while another works.
/// The run is cut into `rounds` and the servers' places in the period
/// turn by one each round, so that none keeps the place after another's
/// work (or before the machine's own periodic work); a burst that hits
/// one server's cycles spoils that round's ratio only.
pub async fn gps_gpsd_and_dronetel(
    secs: u64,
    hz: u32,
    rounds: usize,
    programs: &[gpsd::Program],
) -> anyhow::Result<SideBySide> {
    let period = Duration::from_secs(1) / hz.max(1);
    let mut gpsds = Vec::new();
    for (i, program) in programs.iter().enumerate() {
        let scratch = Scratch::new(&format!("paced-gps-gpsd{i}"))?;
        let path = scratch.0.join("gps");
        let link = Arc::new(FloodLink::open(&path)?);
        let gpsd = Gpsd::start_program(program, &scratch.0, &path)?;
        gpsds.push((scratch, link, gpsd));
    }

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

    let rounds = rounds.max(1);
    let per_round = cycles(secs, period).div_ceil(rounds).max(1);
    // gpsd first identifies the receiver: warm every server up, paced,
    // until each reports; the measured cycles then follow the latest.
    let rec = Arc::new(record_cycles(
        FloodDevice::Gps,
        16 * WARMUP_CYCLES + per_round * rounds,
    ));
    let mut next = gpsd_warm_up(&d_watcher, &d_link, &rec, WARMUP_CYCLES, period).await?;
    for (_, link, gpsd) in &gpsds {
        next = next.max(gpsd_warm_up(gpsd.watcher(), link, &rec, WARMUP_CYCLES, period).await?);
    }
    // Every server with its watcher and process, the daemon last.
    let mut servers: Vec<(&Watcher, u32, &Arc<FloodLink>)> = gpsds
        .iter()
        .map(|(_, link, gpsd)| (gpsd.watcher(), gpsd.pid(), link))
        .collect();
    servers.push((&d_watcher, daemon.pid(), &d_link));
    let k = servers.len();
    let mut measured = Vec::new();
    for round in 0..rounds {
        let mut settled = Vec::new();
        for (watcher, pid, _) in &servers {
            gpsd_wait_quiet(watcher, QUIET).await?;
            settled.push((watcher.tpv_reports(), rig::usage(*pid)?));
        }
        let t0 = tokio::time::Instant::now();
        let range = next..next + per_round;
        next += per_round;
        let writers = servers.iter().enumerate().map(|(i, (_, _, link))| {
            let start = t0 + period * place(round, i, k) as u32 / k as u32;
            rig::write_cycles((*link).clone(), rec.clone(), range.clone(), start, period)
        });
        futures_util::future::try_join_all(writers).await?;
        let mut results = Vec::new();
        for ((watcher, pid, _), (reports, before)) in servers.iter().zip(settled) {
            let last = gpsd_wait_quiet(watcher, QUIET).await?;
            results.push(PacedResult {
                wall: period * per_round as u32,
                usage: rig::usage(*pid)?.since(&before),
                reports: last.0 - reports,
            });
        }
        measured.push(results);
    }
    Ok(SideBySide { rounds: measured })
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
