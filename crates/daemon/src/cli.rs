//! Command-line interface: the `clap` definitions of every subcommand. The
//! dispatch lives in `main.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `dronetel`: drone sensor telemetry daemon and its tools.
#[derive(Debug, Parser)]
#[command(name = "dronetel", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr: `auto` picks `journal` under systemd (no
    /// timestamps, priority prefixes) and `text` elsewhere; `json` is one
    /// object per event for log shippers.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub log_format: crate::logging::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: read the configured sensors and stream frames.
    Run(RunArgs),
    /// Validate a configuration file and exit (status 78 when invalid).
    CheckConfig(RunArgs),
    /// Connect to a running daemon and print its frames, one per line.
    Tail(TailArgs),
    /// Start simulated sensors on ptys, the daemon on them, and a live view.
    Demo(DemoArgs),
}

/// Arguments of `run` and `check-config`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Configuration file (TOML).
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
}

/// Arguments of `tail`.
#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// TCP address of the daemon's stream.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:4780",
        conflicts_with = "unix"
    )]
    pub tcp: String,
    /// Unix socket of the daemon's stream (instead of TCP).
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// Print one JSON object per frame (protobuf JSON mapping, proto names).
    #[arg(long)]
    pub json: bool,
    /// Only print frames of this sensor.
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,
}

/// Arguments of `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory for the simulated devices' links (default: a fresh
    /// temporary directory).
    #[arg(long, value_name = "DIR")]
    pub link_dir: Option<PathBuf>,
    /// Update rate of the simulated GPS, Hz (1 to 25).
    #[arg(long, value_name = "HZ", default_value_t = 5.0)]
    pub gps_rate: f64,
    /// TCP address the demo daemon streams on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4780")]
    pub stream: SocketAddr,
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
