//! `firmware-sim`: runs the simulated sensors on ptys, or replays a capture.
//!
//! `firmware-sim --link-dir DIR [--gps-rate HZ] [--seed N] [--gps-protocol
//! nmea|ubx|both]` simulates;
//! `firmware-sim --replay FILE --link-dir DIR [--rate HZ] [--lines] [--loop]`
//! replays. `--fc-udp ADDR` and `--fc-tcp-listen ADDR` also put the flight
//! controller's MAVLink on the network, as SITL does. SIGINT or SIGTERM stops cleanly (links removed), exit status 0.
//! Fault flags (`--garbage P`, `--bit-flips P`, `--burst N`, `--noise
//! BYTES`, `--week-rollover`, …, on the devices named by `--faults-on`)
//! inject faults from the start; the counts are logged at exit.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use firmware_sim::{FaultRates, Pacing, Replay, ReplayOptions, SimOptions, Simulator};
use tokio::signal::unix::{signal, SignalKind};

/// Simulated drone sensor firmware on pseudo-terminals.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Directory for the device links (DIR/gps); created if missing.
    #[arg(long, value_name = "DIR")]
    link_dir: PathBuf,
    /// GPS cycles per second (1 to 25).
    #[arg(long, value_name = "HZ", default_value_t = 5.0)]
    gps_rate: f64,
    /// Seed of the flight and the sky.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// What the GPS speaks: nmea, ubx (NAV-PVT, NAV-SAT, NAV-DOP,
    /// NAV-EOE) or both (NMEA and those, as a u-blox configured for UBX).
    #[arg(long, value_name = "P", value_enum, default_value_t)]
    gps_protocol: firmware_sim::GpsProtocol,
    /// Replay this capture on DIR/gps instead of simulating.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay: cycles (or lines with --lines) per second.
    #[arg(long, value_name = "HZ", default_value_t = 1.0, requires = "replay")]
    rate: f64,
    /// Replay: one line per tick instead of one receiver cycle.
    #[arg(long, requires = "replay")]
    lines: bool,
    /// Replay: start over at the end of the capture.
    #[arg(long = "loop", requires = "replay")]
    repeat: bool,
    /// Also send the flight controller's MAVLink over UDP to ADDR (from a
    /// socket of its own, which takes commands back), like SITL's UDP out.
    #[arg(long, value_name = "ADDR", conflicts_with = "replay")]
    fc_udp: Option<std::net::SocketAddr>,
    /// Also serve the flight controller's MAVLink to TCP clients on ADDR
    /// (like SITL on 5760); port 0 picks one, printed as `fc-tcp ADDR`.
    #[arg(long, value_name = "ADDR", conflicts_with = "replay")]
    fc_tcp_listen: Option<std::net::SocketAddr>,
    /// Fault injection (simulation only).
    #[command(flatten)]
    faults: FaultArgs,
}

/// Faults injected from the start on the chosen devices. Probabilities are
/// per message.
#[derive(Debug, clap::Args)]
struct FaultArgs {
    /// Devices the fault flags apply to.
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        default_value = "gps,fc,tracker"
    )]
    faults_on: Vec<String>,
    /// Probability of 1-16 garbage bytes in front of a message.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    garbage: f64,
    /// Probability of one flipped bit in a message.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    bit_flips: f64,
    /// Probability of one byte dropped from a message.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    drop_bytes: f64,
    /// Probability of a message cut short.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    truncate: f64,
    /// Probability of a message spliced with the next one.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    splice: f64,
    /// Probability of another protocol's message in front of a message.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    foreign: f64,
    /// Send N cycles per period (a burst at N times the rate).
    #[arg(long, value_name = "N", default_value_t = 1)]
    burst: u32,
    /// Write this many random bytes on the line first.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    noise: u64,
    /// Run the devices' clocks this many seconds behind.
    #[arg(long, value_name = "SECS")]
    time_jump_back: Option<f64>,
    /// Date everything 1024 GPS weeks early (the week-rollover bug).
    #[arg(long)]
    week_rollover: bool,
}

impl FaultArgs {
    /// Applies the flags to the simulator's devices.
    fn apply(&self, sim: &Simulator) -> anyhow::Result<()> {
        let rates = FaultRates {
            garbage: self.garbage,
            bit_flip: self.bit_flips,
            drop_byte: self.drop_bytes,
            truncate: self.truncate,
            splice: self.splice,
            foreign: self.foreign,
        };
        for d in sim.devices() {
            if !self.faults_on.iter().any(|n| n == d.name()) {
                continue;
            }
            anyhow::ensure!(
                d.set_fault_rates(rates),
                "fault probabilities must be within 0..=1 and sum to at most 1"
            );
            d.set_rate_multiplier(self.burst);
            if self.noise > 0 {
                d.inject_noise(self.noise);
            }
            if let Some(secs) = self.time_jump_back {
                let back = std::time::Duration::try_from_secs_f64(secs)
                    .context("--time-jump-back must be a non-negative number of seconds")?;
                d.jump_time_back(back);
            }
            if self.week_rollover {
                d.gps_week_rollover();
            }
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut sigint = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;

    if let Some(file) = &args.replay {
        let opts = ReplayOptions {
            rate_hz: args.rate,
            pacing: if args.lines {
                Pacing::Line
            } else {
                Pacing::Cycle
            },
            repeat: args.repeat,
            ..ReplayOptions::default()
        };
        let mut replay = Replay::start(file, &args.link_dir, opts.clone())
            .await
            .with_context(|| format!("replaying {}", file.display()))?;
        println!("gps {}", replay.link().display());
        let finished = async {
            replay.finished().await;
            tokio::time::sleep(opts.linger).await;
        };
        tokio::select! {
            _ = sigint.recv() => tracing::info!("SIGINT: stopping"),
            _ = sigterm.recv() => tracing::info!("SIGTERM: stopping"),
            _ = finished => {}
        }
        let stats = replay.stop().await;
        tracing::info!(
            bytes = stats.bytes_written,
            passes = stats.passes,
            "replay stopped"
        );
        return Ok(());
    }

    let opts = SimOptions {
        gps_protocol: args.gps_protocol,
        gps_rate_hz: args.gps_rate,
        seed: args.seed,
        fc_udp: args.fc_udp,
        fc_tcp_listen: args.fc_tcp_listen,
        ..SimOptions::new(&args.link_dir)
    };
    let sim = Simulator::start(opts)
        .await
        .context("starting the simulator")?;
    args.faults.apply(&sim)?;
    // One write for all the lines (a reader that takes only the first line
    // and closes the pipe must not make a later line fail).
    let mut links: String = sim
        .devices()
        .iter()
        .map(|d| format!("{} {}\n", d.name(), d.link().display()))
        .collect();
    if let Some(addr) = sim.fc().udp_local_addr() {
        links.push_str(&format!("fc-udp {addr}\n"));
    }
    if let Some(addr) = sim.fc().tcp_listen_addr() {
        links.push_str(&format!("fc-tcp {addr}\n"));
    }
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if out
            .write_all(links.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            tracing::debug!("stdout closed; device links not printed");
        }
    }
    tokio::select! {
        _ = sigint.recv() => tracing::info!("SIGINT: stopping"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: stopping"),
    }
    for d in sim.devices() {
        let f = d.fault_stats();
        if f != firmware_sim::FaultStats::default() {
            tracing::info!(device = d.name(), faults = ?f, "faults injected");
        }
    }
    sim.stop().await;
    Ok(())
}
