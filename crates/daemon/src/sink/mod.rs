//! Sinks: where published frames leave the daemon.
//!
//! # Layout
//! - [`stream`]: the TCP and Unix socket listeners and their accept loops.
//! - [`client`]: one stream client's batching writer.
//! - [`unix_socket`]: the Unix socket file's lifecycle (stale file, mode,
//!   removal).

pub mod client;
pub mod stream;
pub mod unix_socket;

pub use stream::{StreamError, StreamSink};
