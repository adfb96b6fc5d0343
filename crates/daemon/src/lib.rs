//! # Layout
//! dronetel, the daemon: serial sensors in, protobuf frames out. Data flows
//! one way: [`sensor`] tasks decode devices and publish on the [`bus`], which
//! encodes each frame once and fans it out to the [`sink`]s.
//!
//! - [`config`]: the TOML configuration, validated, with located errors.
//! - [`context`]: [`TaskContext`], the shutdown plumbing every task gets.
//! - [`bus`]: seq numbering, encode-once, non-blocking fan-out;
//!   [`consumers`]: who reads it and what each lost.
//! - [`sensor`]: the generic supervised sensor task, health and backoff.
//! - [`sink`]: the stream sink (TCP and Unix socket clients).
//! - [`supervisor`]: [`Daemon`]: start order, drain and deadline on shutdown.
//! - [`signals`]: SIGINT/SIGTERM → cancellation; a second signal exits.
//! - [`reload`]: SIGHUP: validate, then apply the difference.
//! - [`service`]: the supervisor's loop under systemd; [`notify`]: the
//!   sd_notify messages; [`status`]: sensor states read off the bus.
//! - [`metrics`]: the optional Prometheus endpoint.
//! - [`logging`]: text, journal or JSON logs on stderr.
//! - [`playback`]: the `replay` and `recover` subcommands (MCAP).
//! - [`privileges`]: `run` refuses root unless `--allow-root`.
//! - [`cli`]: the command-line definitions; [`tail`] and [`demo`] subcommands;
//!   [`view`]: the readable one-line form of a frame they print.
#![forbid(unsafe_code)]

pub mod bus;
pub mod cli;
pub mod config;
pub mod consumers;
pub mod context;
pub mod demo;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod playback;
pub mod privileges;
pub mod reload;
pub mod sensor;
pub mod service;
pub mod signals;
pub mod sink;
pub mod status;
pub mod supervisor;
pub mod tail;
pub mod view;

pub use bus::{Bus, BusCounters, BusReceiver, Published, Received};
pub use config::{Config, ConfigError};
pub use context::TaskContext;
pub use supervisor::{run, Daemon, DaemonError, ShutdownReport};

/// Exit status for an unusable configuration (`EX_CONFIG` of sysexits.h).
pub const EX_CONFIG: u8 = 78;
