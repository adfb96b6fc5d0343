//! # Layout
//! dronetel, the daemon: sensors in, protobuf frames out. Data flows one
//! way: [`sensor`] tasks read a transport through a protocol's decoder and
//! publish on the [`bus`], which fans each frame out to the [`sink`]s and
//! encodes it at most once, for the first sink that wants its bytes. Sensor protocols and sinks are components: each lives in
//! its own folder and is registered in one list
//! ([`sensor::protocol::PROTOCOLS`], [`sink::SINKS`]).
//!
//! - [`config`]: the ground floor of the configuration (errors at their
//!   line and key, the shared checker, `[daemon]`); [`config_file`]: the
//!   whole file, each section read by the component that owns it.
//! - [`selection`]: frame kinds and what a consumer selects (neutral
//!   ground for the configuration, `Subscribe` and the sinks).
//! - [`context`]: [`TaskContext`], the shutdown plumbing every task gets.
//! - [`backoff`]: capped exponential retry delays.
//! - [`bus`]: seq numbering, non-blocking fan-out, encoding at most once;
//!   [`consumers`]: who reads it and what each lost.
//! - [`sensor`]: the generic supervised sensor task, its protocols and
//!   transports, health.
//! - [`sink`]: the sink contract and registry, and every sink (stream, UDP,
//!   recording, MQTT, metrics).
//! - [`status`]: sensor states read off the bus (status line, metrics).
//! - [`supervisor`]: [`Daemon`]: start order, drain and deadline on shutdown.
//! - [`reload`]: SIGHUP: validate, then apply the difference.
//! - [`service`]: the daemon under systemd: run until a signal, status
//!   line, watchdog, reload; [`notify`]: the sd_notify messages.
//! - [`signals`]: SIGINT/SIGTERM → cancellation; a second signal exits.
//! - [`logging`]: text, journal or JSON logs on stderr.
//! - [`privileges`]: `run` refuses root unless `--allow-root`.
//!
//! The command line and the subcommands that are clients of the daemon
//! (`tail`, `demo`, `replay`, `recover`) live in the binary (`src/cmd/`),
//! the only place that uses `anyhow`.
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

pub mod backoff;
pub mod bus;
pub mod config;
pub mod config_file;
pub mod consumers;
pub mod context;
pub mod logging;
pub mod notify;
pub mod privileges;
pub mod reload;
pub mod selection;
pub mod sensor;
pub mod service;
pub mod signals;
pub mod sink;
pub mod status;
pub mod supervisor;

pub use bus::{Bus, BusCounters, BusReceiver, Published, Received};
pub use config::ConfigError;
pub use config_file::Config;
pub use context::TaskContext;
pub use service::{run, run_reloadable};
pub use supervisor::{Daemon, DaemonError, ShutdownReport};

/// Exit status for an unusable configuration (`EX_CONFIG` of sysexits.h).
pub const EX_CONFIG: u8 = 78;
