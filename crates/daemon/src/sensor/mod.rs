//! Sensors: one generic supervised task per configured sensor, reading a
//! transport through a protocol's decoder.
//!
//! # Layout
//! - [`kind`]: [`SensorKind`], what a sensor is.
//! - [`config`]: the `[[sensor]]` table, read and checked.
//! - [`protocol`]: the protocol registry (NMEA, u-blox, MAVLink, tracker).
//! - [`transport`]: how the bytes are reached (serial, TCP, UDP).
//! - [`task`]: the task itself, generic over the decoder and the [`Opener`].
//! - [`health`]: the state machine and counters behind `SensorHealth`.
//! - [`host_clock`]: the host clock as evidence of the date for GNSS
//!   decoders (`[daemon] host_clock`).
//! - [`raw`]: [`raw::RawTap`], the sensors' input as read, for sinks that
//!   pass it on.

pub mod config;
pub mod health;
pub mod host_clock;
pub mod kind;
pub mod protocol;
pub mod raw;
pub mod task;
pub mod transport;

use std::time::Duration;

use tokio::task::JoinHandle;

pub use config::SensorConfig;
pub use host_clock::HostClock;
pub use kind::SensorKind;
pub use task::{body_of, run_sensor, Opener, PortNews, SensorSettings};

use crate::backoff::Backoff;
use crate::bus::Bus;
use crate::context::TaskContext;
use raw::RawTap;

/// Spawns the task of one configured sensor on `ctx` (named
/// `sensor <name>`), publishing to `bus`; an NMEA source (`nmea`,
/// `ublox`) also hands its input to `raw`.
pub fn spawn_configured(
    ctx: &TaskContext,
    bus: &Bus,
    sensor: &SensorConfig,
    health_interval: Duration,
    host_clock: HostClock,
    raw: &RawTap,
) -> JoinHandle<()> {
    let settings = SensorSettings {
        name: sensor.name.clone(),
        stale_after: sensor.stale_after,
        health_interval,
        host_clock,
        backoff: Backoff::SENSOR,
        raw: sensor.protocol.raw_nmea().then(|| raw.clone()),
    };
    sensor.protocol.spawn(
        &sensor.transport,
        ctx,
        format!("sensor {}", sensor.name),
        bus.clone(),
        settings,
    )
}

#[cfg(test)]
mod task_tests;
