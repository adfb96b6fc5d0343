//! The real device opener (a serial port through tokio-serial) and the
//! wiring from a `[[sensor]]` section to a running task.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use dronetel_wire::mavlink::{MavlinkDecoder, MavlinkOptions};
use dronetel_wire::nmea::{NmeaDecoder, NmeaOptions};
use dronetel_wire::tracker::TrackerDecoder;
use tokio::task::JoinHandle;
use tokio_serial::{SerialPortBuilderExt, SerialStream};

use super::backoff::Backoff;
use super::task::{run_sensor, Opener, SensorSettings};
use crate::bus::Bus;
use crate::config::{ProtocolConfig, SensorConfig};
use crate::context::TaskContext;

/// Opens a serial device (or pty) at a fixed baud rate.
#[derive(Debug, Clone)]
pub struct SerialOpener {
    /// Device path.
    pub path: PathBuf,
    /// Line speed.
    pub baud: u32,
}

impl Opener for SerialOpener {
    type Port = SerialStream;

    async fn open(&self) -> io::Result<SerialStream> {
        tokio_serial::new(self.path.to_string_lossy(), self.baud)
            .open_native_async()
            .map_err(io::Error::from)
    }

    fn device(&self) -> String {
        self.path.display().to_string()
    }
}

/// Spawns the task of one configured sensor on `ctx` (named
/// `sensor <name>`), publishing to `bus`.
pub fn spawn_configured(
    ctx: &TaskContext,
    bus: &Bus,
    sensor: &SensorConfig,
    health_interval: Duration,
) -> JoinHandle<()> {
    let settings = SensorSettings {
        name: sensor.name.clone(),
        stale_after: sensor.stale_after,
        health_interval,
        backoff: Backoff::SENSOR,
    };
    let opener = SerialOpener {
        path: sensor.path.clone(),
        baud: sensor.baud,
    };
    let token = ctx.token.clone();
    let bus = bus.clone();
    let task = format!("sensor {}", sensor.name);
    match &sensor.protocol {
        ProtocolConfig::Nmea(n) => {
            let mut opts = NmeaOptions {
                require_checksum: n.require_checksum,
                ..NmeaOptions::default()
            };
            if let Some(gap) = n.idle_gap {
                opts.idle_gap = gap;
            }
            let decoder = NmeaDecoder::new(opts);
            ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
        }
        ProtocolConfig::Mavlink(m) => {
            let mut opts = MavlinkOptions::default();
            if m.request_message_rates {
                opts.rate_requests = MavlinkOptions::default_rate_requests();
            }
            let decoder = MavlinkDecoder::new(opts);
            ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
        }
        ProtocolConfig::Tracker(_) => {
            let decoder = TrackerDecoder::default();
            ctx.spawn(task, run_sensor(token, bus, settings, decoder, opener))
        }
    }
}
