//! The subcommands besides `run` and `check-config`, and the command
//! line itself: the binary's edge, where errors are `anyhow` with context.
//!
//! # Layout
//! - [`cli`]: the command-line definitions (clap).
//! - [`tail`]: `dronetel tail`, a stream client printing frames;
//!   [`view`]: the readable one-line form of a frame it prints.
//! - [`demo`]: simulator + daemon + live view in one process.
//! - [`playback`]: `replay` and `recover` (MCAP).

pub(crate) mod cli;
pub(crate) mod demo;
pub(crate) mod playback;
pub(crate) mod tail;
pub(crate) mod view;
