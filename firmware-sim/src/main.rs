//! `firmware-sim`: runs the simulated sensors on ptys, or replays a capture.
//!
//! `firmware-sim --link-dir DIR [--gps-rate HZ] [--seed N]` simulates;
//! `firmware-sim --replay FILE --link-dir DIR [--rate HZ] [--lines] [--loop]`
//! replays. SIGINT or SIGTERM stops cleanly (links removed), exit status 0.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use firmware_sim::{Pacing, Replay, ReplayOptions, SimOptions, Simulator};
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
        gps_rate_hz: args.gps_rate,
        seed: args.seed,
        ..SimOptions::new(&args.link_dir)
    };
    let sim = Simulator::start(opts)
        .await
        .context("starting the simulator")?;
    // One write for all the lines (a reader that takes only the first line
    // and closes the pipe must not make a later line fail).
    let links: String = sim
        .devices()
        .iter()
        .map(|d| format!("{} {}\n", d.name(), d.link().display()))
        .collect();
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
    sim.stop().await;
    Ok(())
}
