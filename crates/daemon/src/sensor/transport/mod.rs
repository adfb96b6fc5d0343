//! Transports: how a sensor task reaches its byte stream. Each transport
//! is an [`Opener`](super::task::Opener) the generic task reopens after
//! every failure; the configuration's `path` picks it.
//!
//! # Layout
//! - [`serial`]: a serial device or pty (tokio-serial).

pub mod serial;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use dronetel_wire::SensorDecoder;

use super::task::{run_sensor, SensorSettings};
use crate::bus::Bus;
use crate::context::TaskContext;
pub use serial::{SerialConfig, SerialOpener};

/// Where a sensor's bytes come from, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// A serial device at a fixed line speed.
    Serial(SerialConfig),
}

impl TransportConfig {
    /// The device as health frames and logs name it.
    pub fn device(&self) -> String {
        match self {
            TransportConfig::Serial(s) => s.path.display().to_string(),
        }
    }

    /// The line speed, for a serial device.
    pub fn baud(&self) -> Option<u32> {
        match self {
            TransportConfig::Serial(s) => Some(s.baud),
        }
    }

    /// What keeps this transport from being used by this process, found
    /// before start-up (a serial path that is a directory or not ours to
    /// open); the config key it concerns and why.
    pub fn check_access(&self) -> Result<(), (&'static str, String)> {
        match self {
            TransportConfig::Serial(s) => s.check_access().map_err(|why| ("path", why)),
        }
    }

    /// Spawns the generic sensor task for `decoder` over this transport on
    /// `ctx`, named `task`.
    pub(crate) fn spawn<D: SensorDecoder>(
        &self,
        ctx: &TaskContext,
        task: String,
        bus: Bus,
        settings: SensorSettings,
        decoder: D,
    ) -> JoinHandle<()> {
        let token: CancellationToken = ctx.token.clone();
        match self {
            TransportConfig::Serial(s) => {
                let opener = SerialOpener {
                    path: s.path.clone(),
                    baud: s.baud,
                };
                ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
            }
        }
    }
}
