//! Command-line interface: the `clap` definitions of every subcommand. The
//! dispatch lives in `main.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `dronetel`: drone sensor telemetry daemon and its tools.
#[derive(Debug, Parser)]
#[command(name = "dronetel", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Log format on stderr: `auto` picks `journal` under systemd (no
    /// timestamps, priority prefixes) and `text` elsewhere; `json` is one
    /// object per event for log shippers.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub(crate) log_format: dronetel::logging::LogFormat,
    /// Let `run` start as root (it refuses otherwise: the daemon needs only
    /// the serial devices' group, e.g. `dialout`).
    #[arg(long, global = true)]
    pub(crate) allow_root: bool,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the daemon: read the configured sensors and stream frames.
    Run(RunArgs),
    /// Validate a configuration file and exit (status 78 when invalid).
    CheckConfig(RunArgs),
    /// Connect to a running daemon and print its frames, one per line.
    Tail(TailArgs),
    /// Start simulated sensors on ptys, the daemon on them, and a live view.
    Demo(DemoArgs),
    /// Re-publish an MCAP recording through the configured sinks.
    Replay(ReplayArgs),
    /// Rebuild a finished MCAP file from one cut by a crash.
    Recover(RecoverArgs),
}

/// Arguments of `replay`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ReplayArgs {
    /// The recording.
    #[arg(value_name = "FILE.mcap")]
    pub(crate) file: PathBuf,
    /// Configuration whose sinks get the frames (its sensors and `[record]`
    /// are ignored).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// Replay this many times faster than recorded.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1.0,
        conflicts_with = "as_fast_as_possible"
    )]
    pub(crate) speed: f64,
    /// Replay without pauses (nothing is lost: replay waits for slow sinks).
    #[arg(long)]
    pub(crate) as_fast_as_possible: bool,
    /// Wait until this many stream clients are connected before starting.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) wait_clients: usize,
}

/// Arguments of `recover`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RecoverArgs {
    /// The damaged recording.
    #[arg(value_name = "FILE.mcap")]
    pub(crate) file: PathBuf,
    /// Where to write the rebuilt file (default `FILE.recovered.mcap`).
    #[arg(long, short, value_name = "OUT")]
    pub(crate) output: Option<PathBuf>,
}

/// Arguments of `run` and `check-config`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// Configuration file (TOML).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) config: PathBuf,
}

/// Arguments of `tail`.
#[derive(Debug, Clone, Args)]
pub(crate) struct TailArgs {
    /// TCP address of the daemon's stream.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:4780",
        conflicts_with = "unix"
    )]
    pub(crate) tcp: String,
    /// Unix socket of the daemon's stream (instead of TCP).
    #[arg(long, value_name = "PATH")]
    pub(crate) unix: Option<PathBuf>,
    /// Print one JSON object per frame (protobuf JSON mapping, proto names).
    #[arg(long)]
    pub(crate) json: bool,
    /// Only print frames of this sensor.
    #[arg(long, value_name = "NAME")]
    pub(crate) sensor: Option<String>,
}

/// Arguments of `demo`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DemoArgs {
    /// Directory for the simulated devices' links (default: a fresh
    /// temporary directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) link_dir: Option<PathBuf>,
    /// Update rate of the simulated GPS, Hz (1 to 25).
    #[arg(long, value_name = "HZ", default_value_t = 5.0)]
    pub(crate) gps_rate: f64,
    /// TCP address the demo daemon streams on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4780")]
    pub(crate) stream: SocketAddr,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tail_defaults_to_loopback_tcp() {
        let cli = Cli::try_parse_from(["dronetel", "tail"]).expect("parses");
        let Command::Tail(t) = cli.command else {
            panic!("not tail")
        };
        assert_eq!(t.tcp, "127.0.0.1:4780");
        assert!(t.unix.is_none() && !t.json && t.sensor.is_none());
        assert!(Cli::try_parse_from(["dronetel", "tail", "--tcp", "x:1", "--unix", "/s"]).is_err());
    }
}
