//! The runs: GPS flood with one client, the same flood through gpsd, and
//! all three sensors paced (nominal rate or faster) with N clients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use firmware_sim::flood::{self, FloodDevice, FloodLink, FloodOptions, Recording};

use super::rig::{self, Clients, Scratch, DEADLINE, WARMUP_CYCLES};
use crate::daemon::Daemon;
use crate::gpsd::{Gpsd, Watcher};
use crate::procfs::Usage;
use crate::stats::Latency;

/// Pacing of the warm-up cycles.
const WARMUP_PERIOD: Duration = Duration::from_millis(10);

/// At least `cycles` cycles of `device` (GPS at 10 Hz simulated).
pub fn record_cycles(device: FloodDevice, cycles: usize) -> Recording {
    let mut min = cycles as u64;
    loop {
        let rec = flood::record(device, &FloodOptions::default(), min);
        if rec.cycles.len() >= cycles {
            return rec;
        }
        min *= 2;
    }
}

/// At least `sentences` GPS sentences after the warm-up cycles.
pub fn gps_flood(sentences: u64) -> Recording {
    let warmup = record_cycles(FloodDevice::Gps, WARMUP_CYCLES);
    let warmup: u64 = warmup.cycles[..WARMUP_CYCLES]
        .iter()
        .map(|c| u64::from(c.messages))
        .sum();
    let mut min = sentences + warmup;
    loop {
        let rec = flood::record(FloodDevice::Gps, &FloodOptions::default(), min);
        if measured_messages(&rec) >= sentences {
            return rec;
        }
        min += sentences / 10 + 100;
    }
}

fn measured_messages(rec: &Recording) -> u64 {
    rec.cycles[WARMUP_CYCLES..]
        .iter()
        .map(|c| u64::from(c.messages))
        .sum()
}

/// What one flood run measured.
#[derive(Debug, Clone)]
pub struct FloodResult {
    /// Sentences in the measured stretch.
    pub sentences: u64,
    /// Bytes in the measured stretch.
    pub bytes: u64,
    /// The daemon's counters over it (peak RSS at its end).
    pub usage: Usage,
    /// Wall time of the measured stretch.
    pub wall: Duration,
    /// Write of a cycle's last sentence → fix received (dronetel only).
    pub latency: Latency,
    /// Fixes (dronetel) or TPV reports (gpsd) received in the stretch.
    pub reports: u64,
}

impl FloodResult {
    /// CPU time per sentence.
    pub fn cpu_per_sentence(&self) -> Duration {
        self.usage.cpu / self.sentences.max(1) as u32
    }
}

/// The GPS flood into dronetel with one stream client.
pub async fn flood_dronetel(rec: Arc<Recording>) -> anyhow::Result<FloodResult> {
    let scratch = Scratch::new("flood")?;
    let spec = rig::spec(FloodDevice::Gps, &scratch.0);
    let link = Arc::new(FloodLink::open(&spec.path)?);
    let daemon = Daemon::start(&scratch.0, &[spec], 8)?;
    let last = rec.cycles[rec.cycles.len() - 1].time;
    let clients = Clients::connect(&daemon, 1, last).await?;
    let t0 = tokio::time::Instant::now();
    rig::write_cycles(
        link.clone(),
        rec.clone(),
        0..WARMUP_CYCLES,
        t0,
        WARMUP_PERIOD,
    )
    .await?;
    clients.wait_for(rec.cycles[WARMUP_CYCLES - 2].time).await?;
    let before = rig::usage(daemon.pid())?;
    let start = Instant::now();
    let range = WARMUP_CYCLES..rec.cycles.len();
    // The pty stays open (`link` kept) until the daemon has read it all.
    let stamps = rig::write_cycles(link.clone(), rec.clone(), range, t0, Duration::ZERO).await?;
    clients.wait_for(last).await?;
    let received = tokio::time::timeout(DEADLINE, clients.finish()).await??;
    let wall = start.elapsed();
    let usage = rig::usage(daemon.pid())?.since(&before);
    drop(link);
    let latency = stamps.latency(&received);
    Ok(FloodResult {
        sentences: measured_messages(&rec),
        bytes: (rec.bytes.len() - rec.cycles[WARMUP_CYCLES - 1].end) as u64,
        usage,
        wall,
        reports: latency.n as u64,
        latency,
    })
}

/// The same GPS flood into gpsd with a `gpspipe -w` watcher.
pub async fn flood_gpsd(rec: Arc<Recording>) -> anyhow::Result<FloodResult> {
    let scratch = Scratch::new("gpsd")?;
    let path = scratch.0.join("gps");
    let link = Arc::new(FloodLink::open(&path)?);
    let gpsd = Gpsd::start(&scratch.0, &path)?;
    // gpsd identifies the stream before it reports: feed cycles one by one
    // until its watcher has a report, then measure from the next cycle.
    let next = gpsd_warm_up(gpsd.watcher(), &link, &rec, 0, WARMUP_PERIOD * 2).await?;
    let settled = gpsd.watcher().tpv_reports();
    let before = rig::usage(gpsd.pid())?;
    let start = Instant::now();
    let range = next..rec.cycles.len();
    rig::write_cycles(
        link.clone(),
        rec.clone(),
        range,
        tokio::time::Instant::now(),
        Duration::ZERO,
    )
    .await?;
    let last = gpsd_wait_quiet(gpsd.watcher(), Duration::from_secs(1)).await?;
    let wall = last.1.duration_since(start);
    let usage = rig::usage(gpsd.pid())?.since(&before);
    drop(link);
    Ok(FloodResult {
        sentences: rec.cycles[next..]
            .iter()
            .map(|c| u64::from(c.messages))
            .sum(),
        bytes: (rec.bytes.len() - rec.cycles[next - 1].end) as u64,
        usage,
        wall,
        latency: Latency::default(),
        reports: last.0 - settled,
    })
}

/// Feeds a gpsd server one cycle of `rec` at a time, `pause` apart, until
/// it has written at least `min_cycles` and the server's `gpsd` watcher has
/// a report (gpsd first identifies the receiver); returns the next cycle
/// to write.
pub(crate) async fn gpsd_warm_up(
    gpsd: &Watcher,
    link: &Arc<FloodLink>,
    rec: &Arc<Recording>,
    min_cycles: usize,
    pause: Duration,
) -> anyhow::Result<usize> {
    let until = Instant::now() + DEADLINE;
    let t0 = tokio::time::Instant::now();
    let mut next = 0;
    while next < min_cycles || gpsd.tpv_reports() == 0 {
        anyhow::ensure!(
            Instant::now() < until && next < rec.cycles.len() / 2,
            "the gpsd server reported nothing in {next} cycles (see its log)"
        );
        rig::write_cycles(
            link.clone(),
            rec.clone(),
            next..next + 1,
            t0,
            Duration::ZERO,
        )
        .await?;
        next += 1;
        tokio::time::sleep(pause).await;
    }
    Ok(next)
}

/// Waits until the watcher `gpsd`'s count has not moved for `quiet`;
/// returns the count and when it last moved.
pub(crate) async fn gpsd_wait_quiet(
    gpsd: &Watcher,
    quiet: Duration,
) -> anyhow::Result<(u64, Instant)> {
    let until = Instant::now() + DEADLINE;
    let mut last = (gpsd.tpv_reports(), Instant::now());
    while last.1.elapsed() < quiet {
        anyhow::ensure!(Instant::now() < until, "gpsd never went quiet");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let n = gpsd.tpv_reports();
        if n != last.0 {
            last = (n, Instant::now());
        }
    }
    Ok(last)
}

/// What one paced run of all three sensors measured.
#[derive(Debug, Clone)]
pub struct RatesResult {
    /// Stream clients attached.
    pub clients: usize,
    /// Wall time of the measured stretch.
    pub wall: Duration,
    /// The daemon's counters over it.
    pub usage: Usage,
    /// Frames the first client received in the stretch (= published).
    pub frames: u64,
    /// GPS write → receipt, over every client.
    pub latency: Latency,
    /// Frames lost by clients (`seq` gaps), over all of them.
    pub gaps: u64,
    /// Messages the Foxglove client received (0 without one).
    pub foxglove_messages: u64,
}

impl RatesResult {
    /// Daemon CPU time per published frame.
    pub fn cpu_per_frame(&self) -> Duration {
        self.usage.cpu / self.frames.max(1) as u32
    }

    /// Share of one core, percent (from the finer per-thread clock).
    pub fn cpu_percent(&self) -> f64 {
        self.usage.sched.as_secs_f64() / self.wall.as_secs_f64() * 100.0
    }
}

/// GPS 10 Hz, flight controller 10 ticks/s, tracker 30 Hz, all `speedup`
/// times faster, for `secs`, with `n` clients.
pub async fn rates(n: usize, speedup: u32, secs: u64) -> anyhow::Result<RatesResult> {
    rates_with(n, speedup, secs, false).await
}

/// [`rates`]; `foxglove`: also a Foxglove WebSocket client subscribed to
/// every channel (frames and well-known schemas).
pub async fn rates_with(
    n: usize,
    speedup: u32,
    secs: u64,
    foxglove: bool,
) -> anyhow::Result<RatesResult> {
    let scratch = Scratch::new(&format!("rates-{n}-{speedup}-{foxglove}"))?;
    let devices = [
        (FloodDevice::Gps, Duration::from_millis(100)),
        (FloodDevice::Fc, Duration::from_millis(100)),
        (FloodDevice::Tracker, Duration::from_secs(1) / 30),
    ];
    let mut specs = Vec::new();
    let mut feeds = Vec::new();
    for (d, period) in devices {
        let period = period / speedup;
        let cycles = (Duration::from_secs(secs).as_nanos() / period.as_nanos()) as usize;
        let spec = rig::spec(d, &scratch.0);
        let link = Arc::new(FloodLink::open(&spec.path)?);
        specs.push(spec);
        let rec = Arc::new(record_cycles(d, cycles + WARMUP_CYCLES));
        feeds.push((link, rec, period, cycles));
    }
    let port = crate::free_port()?;
    let extra = if foxglove {
        format!("\n[foxglove]\nlisten = \"127.0.0.1:{port}\"\nmax_client_drops = 0\nwrite_timeout = \"30s\"\n")
    } else {
        String::new()
    };
    let daemon = Daemon::start_with(&scratch.0, &specs, n.max(8), &extra)?;
    let fox = if foxglove {
        Some(crate::foxglove::FoxgloveClient::connect(port).await?)
    } else {
        None
    };
    let (gps_link, gps, _, gps_cycles) = feeds[0].clone();
    let last = gps.cycles[WARMUP_CYCLES + gps_cycles - 1].time;
    let clients = Clients::connect(&daemon, n, last).await?;
    let t0 = tokio::time::Instant::now();
    rig::write_cycles(gps_link, gps.clone(), 0..WARMUP_CYCLES, t0, WARMUP_PERIOD).await?;
    clients.wait_for(gps.cycles[WARMUP_CYCLES - 2].time).await?;
    let frames_before = clients.first_frames();
    let before = rig::usage(daemon.pid())?;
    let start = Instant::now();
    let t0 = tokio::time::Instant::now();
    let writers: Vec<_> = feeds
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, (link, rec, period, cycles))| {
            let range = if i == 0 {
                WARMUP_CYCLES..WARMUP_CYCLES + cycles
            } else {
                0..cycles
            };
            tokio::spawn(rig::write_cycles(link, rec, range, t0, period))
        })
        .collect();
    let mut stamps = None;
    for w in writers {
        let s = w.await??;
        stamps.get_or_insert(s);
    }
    clients.wait_for(last).await?;
    let received = tokio::time::timeout(DEADLINE, clients.finish()).await??;
    let foxglove_messages = match fox {
        Some(f) => f.finish().await?,
        None => 0,
    };
    let wall = start.elapsed();
    let usage = rig::usage(daemon.pid())?.since(&before);
    drop(feeds);
    let latency = stamps.unwrap_or_default().latency(&received);
    Ok(RatesResult {
        clients: n,
        wall,
        usage,
        frames: received[0].frames.saturating_sub(frames_before),
        latency,
        gaps: received.iter().map(|r| r.gaps).sum(),
        foxglove_messages,
    })
}
