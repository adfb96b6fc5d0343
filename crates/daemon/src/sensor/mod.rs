//! Sensors: one generic supervised task per configured device.
//!
//! # Layout
//! - [`task`]: the task itself, generic over the decoder and the [`Opener`].
//! - [`health`]: the state machine and counters behind `SensorHealth`.
//! - [`backoff`]: capped exponential reopen delays.
//! - [`serial`]: the real opener (tokio-serial) and the config → task wiring.

pub mod backoff;
pub mod health;
pub mod serial;
pub mod task;

pub use backoff::Backoff;
pub use serial::{spawn_configured, SerialOpener};
pub use task::{body_of, run_sensor, Opener, SensorSettings};

#[cfg(test)]
mod task_tests;
