//! The `dronetel` binary: parses the command line, sets up logging and the
//! runtime, and dispatches to the library.
#![forbid(unsafe_code)]
// No panic reachable from input: non-test code reads with `.get()`, `?` and
// checked arithmetic; an allow names its reason on the smallest item.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cmd;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use cmd::cli::{Cli, Command, RunArgs};
use dronetel::{Config, EX_CONFIG};

fn main() -> ExitCode {
    let cli = Cli::parse();
    dronetel::logging::init(cli.log_format);
    // One thread runs every task: the work per message is small, and
    // handing frames between worker threads cost more CPU (cross-thread
    // wake-ups, eventfd, IPIs) than the work itself; see README
    // "Performance". Blocking work (the recorder) has its own threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
    {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    runtime.block_on(async {
        match cli.command {
            Command::Run(args) => match dronetel::privileges::check_not_root(cli.allow_root) {
                Ok(()) => run(args).await,
                Err(e) => {
                    say(format_args!("dronetel: {e}"));
                    ExitCode::from(dronetel::privileges::EX_NOPERM)
                }
            },
            Command::CheckConfig(args) => match Config::load(&args.config).and_then(|c| {
                c.check_environment()?;
                Ok(c)
            }) {
                Ok(c) => {
                    println!(
                        "{}: ok ({} sensor(s))",
                        args.config.display(),
                        c.sensors.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => config_error(&e),
            },
            Command::Tail(args) => result(cmd::tail::tail(args).await),
            Command::Demo(args) => result(cmd::demo::demo(args).await),
            Command::Replay(args) => result(cmd::playback::replay(args).await),
            Command::Recover(args) => result(cmd::playback::recover(&args)),
        }
    })
}

async fn run(args: RunArgs) -> ExitCode {
    let config = match Config::load(&args.config).and_then(|c| {
        c.check_environment()?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    if nix::unistd::geteuid().is_root() {
        tracing::warn!("running as root (--allow-root)");
    }
    // Kept to point a start-up failure back at the key that caused it.
    let located = config.clone();
    match dronetel::run_reloadable(config, args.config).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => match e
            .config_key()
            .and_then(|key| located.error_at_key(&key, &e.to_string()))
        {
            Some(located) => config_error(&located),
            None => {
                // The library's errors carry their cause in their message.
                say(format_args!("dronetel: {e}"));
                ExitCode::FAILURE
            }
        },
    }
}

fn config_error(e: &dronetel::ConfigError) -> ExitCode {
    say(format_args!("dronetel: configuration error: {e}"));
    ExitCode::from(EX_CONFIG)
}

fn result(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    say(format_args!("dronetel: {e:#}"));
    ExitCode::FAILURE
}

/// One line on stderr. A closed stderr is ignored: `eprintln!` would panic
/// inside the runtime and turn a clean error exit into a hang or an abort.
fn say(msg: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{msg}");
}
