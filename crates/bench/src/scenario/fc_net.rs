//! The flight controller over the serial path and over UDP, side by side:
//! firmware-sim's live flight controller alone at a multiplied rate, read
//! by two daemons at once, one from its pty and one from its UDP output
//! (`--fc-udp`): the same simulated traffic in the same stretch, so the
//! CPU per MAVLink message of the two paths compare directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use firmware_sim::{SimOptions, Simulator};

use super::rig::{self, Clients, Scratch};
use crate::daemon::{Daemon, SensorSpec};
use crate::procfs::Usage;

/// Fix time the clients wait for past the start before measuring.
const WARMUP: Duration = Duration::from_secs(2);

/// What one side-by-side run measured.
#[derive(Debug, Clone)]
pub struct FcNetResult {
    /// The measured stretch.
    pub wall: Duration,
    /// MAVLink messages the flight controller sent in it.
    pub messages: u64,
    /// The daemon reading the pty.
    pub pty: Usage,
    /// The daemon reading UDP.
    pub udp: Usage,
}

impl FcNetResult {
    /// CPU (on-CPU time of the threads) per message of `usage`.
    pub fn cpu_per_message(&self, usage: &Usage) -> Duration {
        usage.sched / self.messages.max(1) as u32
    }

    /// Share of one core of `usage`, percent.
    pub fn cpu_percent(&self, usage: &Usage) -> f64 {
        usage.sched.as_secs_f64() / self.wall.as_secs_f64() * 100.0
    }
}

/// The flight-controller sensor at `path`, named `gps` so that the bench
/// client (which follows the `gps` sensor's fixes) follows its GPS_RAW_INT
/// and GLOBAL_POSITION_INT fixes.
fn fc_spec(path: PathBuf) -> SensorSpec {
    SensorSpec {
        name: "gps",
        kind: "flight_controller",
        protocol: "mavlink",
        path,
    }
}

/// The flight controller at `speedup`× its rate for `secs`, into one daemon
/// on its pty and one on `udp://`, measured over the same stretch.
pub async fn fc_pty_vs_udp(secs: u64, speedup: u32) -> anyhow::Result<FcNetResult> {
    let scratch = Scratch::new("fc-net")?;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .context("picking a free UDP port")?;
    let udp_addr = SocketAddr::from(([127, 0, 0, 1], port.port()));
    let sim = Simulator::start(SimOptions {
        fc_udp: Some(udp_addr),
        ..SimOptions::new(scratch.0.join("dev"))
    })
    .await
    .context("starting firmware-sim")?;
    sim.fc().set_rate_multiplier(speedup);
    let mut daemons = Vec::new();
    for (name, path) in [
        ("pty", sim.fc().link()),
        ("udp", PathBuf::from(format!("udp://{udp_addr}"))),
    ] {
        let dir = scratch.0.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let daemon = Daemon::start(&dir, &[fc_spec(path)], 8)?;
        // The clients never stop by themselves: they end with the daemons.
        let never = SystemTime::now() + Duration::from_secs(86_400);
        let clients = Clients::connect(&daemon, 1, never).await?;
        daemons.push((daemon, clients));
    }
    let warm = SystemTime::now() + WARMUP;
    for (_, clients) in &daemons {
        clients.wait_for(warm).await?;
    }
    let before: Vec<Usage> = daemons
        .iter()
        .map(|(d, _)| rig::usage(d.pid()))
        .collect::<anyhow::Result<_>>()?;
    let sent = sim.fc().stats().sentences_sent;
    let t0 = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let mut usage = Vec::new();
    for ((d, _), b) in daemons.iter().zip(&before) {
        usage.push(rig::usage(d.pid())?.since(b));
    }
    let wall = t0.elapsed();
    let messages = sim.fc().stats().sentences_sent - sent;
    // Both kept up: each still receives fixes from the measured stretch.
    let end = SystemTime::now() - Duration::from_secs(1);
    for (_, clients) in &daemons {
        clients.wait_for(end).await?;
    }
    drop(daemons);
    sim.stop().await;
    Ok(FcNetResult {
        wall,
        messages,
        pty: usage[0],
        udp: usage[1],
    })
}
