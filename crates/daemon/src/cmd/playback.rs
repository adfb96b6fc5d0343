//! The `replay` and `recover` subcommands: a recording back through the
//! configured sinks, and a crash-cut recording made whole again.

use std::time::Duration;

use anyhow::Context as _;

use super::cli::{RecoverArgs, ReplayArgs};
use dronetel::bus::Bus;
use dronetel::sink::record::recover::{default_output, recover as recover_file};
use dronetel::sink::record::replay::{replay as replay_file, Pace};
use dronetel::sink::record::RecordSink;
use dronetel::Config;
use dronetel::Daemon;

/// `dronetel replay FILE.mcap --config FILE`: starts the configured sinks
/// (no sensors, no recording), publishes the file's frames, then shuts down
/// so every client drains.
pub(crate) async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let pace = if args.as_fast_as_possible {
        Pace::AsFastAsPossible
    } else {
        anyhow::ensure!(
            args.speed.is_finite() && args.speed > 0.0,
            "--speed must be a positive number"
        );
        Pace::Speed(args.speed)
    };
    let mut config = Config::load(&args.config)?;
    config.sensors.clear();
    config.sinks.remove::<RecordSink>();
    let max_depth = config.sinks.bus_queue().unwrap_or(Bus::DEFAULT_QUEUE) / 2;
    let mut daemon = Daemon::new(config);
    dronetel::signals::spawn_signal_handler(daemon.token()).context("signal handlers")?;
    daemon.start().await?;
    let token = daemon.token();
    if args.wait_clients > 0 {
        tracing::info!(
            clients = args.wait_clients,
            "replay waits for stream clients"
        );
        let consumers = daemon.bus().consumers().clone();
        while consumers.snapshot().clients() < args.wait_clients {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }
    tracing::info!(file = %args.file.display(), pace = ?pace, "replay started");
    let n = replay_file(&args.file, daemon.bus(), pace, max_depth, &token).await;
    let report = daemon.shutdown().await;
    let n = n?;
    tracing::info!(
        frames = n,
        aborted = report.aborted.len(),
        "replay finished"
    );
    Ok(())
}

/// `dronetel recover FILE.mcap [-o OUT]`.
pub(crate) fn recover(args: &RecoverArgs) -> anyhow::Result<()> {
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.file));
    let r = recover_file(&args.file, &out)?;
    println!(
        "{}: {} messages recovered into {}{}",
        args.file.display(),
        r.messages,
        out.display(),
        match &r.damage {
            Some(d) => format!(" (stopped at the damage {d}; every message before it kept)"),
            None => " (no damage found)".into(),
        }
    );
    Ok(())
}
