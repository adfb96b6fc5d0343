//! The gpsd sink (`[gpsd]`): gpsd's JSON protocol (`gpsd_json(5)`, 3.x)
//! on a TCP port, so that gpsd clients (`gpspipe`, `cgps`, the Python
//! `gps` module, chrony's and ROS's gpsd readers) read every GPS source of
//! the daemon unchanged. Each configured GPS source (an NMEA receiver, the
//! flight controller's GPS_RAW_INT) is one gpsd device named by its path.
//!
//! A client gets `VERSION` on connect and may send `?VERSION;`,
//! `?DEVICES;`, `?WATCH;`/`?WATCH={...};`, `?POLL;` and
//! `?DEVICE;`/`?DEVICE={"path":...};`; anything else is answered with an
//! `ERROR` object and the connection stays open. A watcher gets a `TPV`
//! and, when the fix has one, a `SKY` per fix. Requests are bounded
//! ([`request::MAX_REQUEST`]), reports wait in the client's bus queue (the
//! oldest are lost first, counted) and a client that loses more than
//! `max_client_drops` or blocks a write past `write_timeout` is
//! disconnected.
//!
//! # Layout
//! - [`config`]: the `[gpsd]` section.
//! - [`request`]: splitting requests off a client's bytes; the watch policy.
//! - [`report`]: the JSON objects (`TPV`, `SKY`, `DEVICES`, ...).

pub mod config;
pub mod report;
pub mod request;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dronetel_proto::v1::frame::Body;
use dronetel_proto::v1::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bus::Received;
use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sink::accept::{accept_loop, Admission};
use crate::sink::contract::{ClientSide, Endpoint, Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::frames::SinkFrames;
use crate::sink::stats::{Connected, SinkStats};
pub use config::{GpsdConfig, RawGpsd};
use report::Device;
use request::{Next, Policy, Request, Requests};

/// Bytes of reports gathered before they are written.
const MAX_BATCH: usize = 64 * 1024;
/// Bytes read from a client at a time.
const READ_CHUNK: usize = 1024;

/// The gpsd sink.
#[derive(Debug)]
pub struct GpsdSink;

impl Sink for GpsdSink {
    const NAME: &'static str = "gpsd";
    type Raw = RawGpsd;
    type Config = GpsdConfig;

    fn validate(
        raw: RawGpsd,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<GpsdConfig, ConfigError> {
        GpsdConfig::validate(raw, selection, c)
    }

    /// Binds the port, then starts the accept loop and the task that
    /// keeps each device's last fix for `?POLL;`.
    async fn start(config: &GpsdConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| SinkError::new::<Self>("listen", format!("gpsd {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SinkError::new::<Self>("listen", e))?;
        let devices = cx
            .daemon()
            .sensors
            .iter()
            .filter(|s| s.protocol != "tracker")
            .filter(|s| {
                config.selection.sensors.is_empty() || config.selection.sensors.contains(&s.name)
            })
            .map(|s| Device {
                sensor: s.name.clone(),
                path: s.path.clone(),
                driver: Device::driver_for(s.protocol),
                bps: s.bps,
            })
            .collect();
        let shared = Arc::new(Shared {
            devices,
            activated: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            last: Mutex::default(),
        });
        tracing::info!(addr = %addr, devices = shared.devices.len(), "gpsd protocol listening");
        if !addr.ip().is_loopback() {
            tracing::warn!(addr = %addr, "gpsd port is reachable from the network: reports are not encrypted or authenticated");
        }
        cx.spawn(
            "gpsd last fix",
            keep_last(cx.frames(&config.selection), shared.clone()),
        );
        let admission = Admission::Refuse {
            permits: Arc::new(Semaphore::new(config.max_clients)),
            max: config.max_clients,
        };
        let clients = cx.clients();
        let limits = Limits {
            max_drops: config.max_client_drops,
            write_timeout: config.write_timeout,
        };
        let selection = config.selection.clone();
        let on_conn = move |conn, peer, permit| {
            spawn_client(&clients, &shared, &selection, conn, peer, permit, limits)
        };
        cx.spawn(
            "gpsd tcp",
            accept_loop(cx.token(), "gpsd tcp", listener, admission, on_conn),
        );
        Ok(cx.into_handle(vec![Endpoint::Tcp(addr)]))
    }
}

/// What every client of the sink shares: the devices and their last fix.
#[derive(Debug)]
struct Shared {
    devices: Vec<Device>,
    /// When the sink started: every device's `activated`.
    activated: String,
    /// The last fix of each sensor, for `?POLL;`.
    last: Mutex<HashMap<String, Arc<Frame>>>,
}

impl Shared {
    /// The gpsd device path of a sensor's frames: its configured path,
    /// else its name (a replayed recording's sensors are not configured).
    fn path<'a>(&'a self, sensor: &'a str) -> &'a str {
        self.devices
            .iter()
            .find(|d| d.sensor == sensor)
            .map_or(sensor, |d| d.path.as_str())
    }
}

/// Keeps the last fix of each sensor until the bus closes.
async fn keep_last(mut rx: SinkFrames, shared: Arc<Shared>) {
    while let Received::Frame(p) = rx.recv().await {
        if let Some(Body::Gps(_)) = &p.frame.body {
            if let Ok(mut last) = shared.last.lock() {
                last.insert(p.frame.sensor.clone(), p.frame.clone());
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_drops: u64,
    write_timeout: Duration,
}

/// Why a client's connection ended.
#[derive(Debug)]
enum End {
    Drained,
    Closed,
    TooSlow,
    WriteTimeout,
    Gone(std::io::Error),
}

fn spawn_client(
    clients: &ClientSide,
    shared: &Arc<Shared>,
    selection: &Selection,
    conn: TcpStream,
    peer: String,
    permit: OwnedSemaphorePermit,
    limits: Limits,
) {
    // Subscribed at once: a watch enabled later misses nothing queued.
    let rx = clients.frames(&peer, selection.clone());
    let stats = clients.stats().clone();
    let shared = shared.clone();
    tracing::info!(peer = %peer, "gpsd client connected");
    let connected = Connected::new(stats.clone());
    clients.spawn(format!("gpsd client {peer}"), async move {
        let _permit = permit;
        let _connected = connected;
        let mut c = Client {
            shared,
            policy: Policy::default(),
            out: Vec::with_capacity(4096),
            stats: stats.clone(),
            limits,
        };
        let _ = conn.set_nodelay(true);
        let end = c.serve(conn, rx).await;
        match end {
            End::TooSlow | End::WriteTimeout => {
                SinkStats::add(&stats.slow_disconnects, 1);
                tracing::warn!(peer = %peer, reason = ?end, "gpsd client too slow: disconnected");
            }
            End::Drained | End::Closed => {
                tracing::info!(peer = %peer, reason = ?end, "gpsd client disconnected")
            }
            End::Gone(e) => {
                tracing::info!(peer = %peer, error = %e, "gpsd client disconnected")
            }
        }
    });
}

/// One connected client.
struct Client {
    shared: Arc<Shared>,
    policy: Policy,
    out: Vec<u8>,
    stats: Arc<SinkStats>,
    limits: Limits,
}

impl Client {
    async fn serve(&mut self, conn: TcpStream, mut rx: SinkFrames) -> End {
        let (mut rd, mut wr) = conn.into_split();
        let mut requests = Requests::default();
        let mut chunk = [0u8; READ_CHUNK];
        report::version(&mut self.out);
        loop {
            if let Err(end) = self.flush(&mut wr).await {
                return end;
            }
            let room = requests.room().clamp(1, READ_CHUNK);
            tokio::select! {
                read = rd.read(chunk.get_mut(..room).unwrap_or_default()) => match read {
                    Ok(0) => return End::Closed,
                    Err(e) => return End::Gone(e),
                    Ok(n) => {
                        requests.push(chunk.get(..n).unwrap_or_default());
                        while let Next::Request(r) = requests.next_request() {
                            self.answer(r);
                            if self.out.len() >= MAX_BATCH {
                                if let Err(end) = self.flush(&mut wr).await {
                                    return end;
                                }
                            }
                        }
                    }
                },
                got = rx.recv() => {
                    let Received::Frame(p) = got else { return End::Drained };
                    self.report(&p.frame);
                    while self.out.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Some(p) => self.report(&p.frame),
                            None => break,
                        }
                    }
                    if self.limits.max_drops > 0 && rx.dropped() > self.limits.max_drops {
                        return End::TooSlow;
                    }
                }
            }
        }
    }

    /// Writes what is gathered in `out`.
    async fn flush(&mut self, wr: &mut OwnedWriteHalf) -> Result<(), End> {
        if self.out.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(self.limits.write_timeout, wr.write_all(&self.out)).await {
            Err(_) => Err(End::WriteTimeout),
            Ok(Err(e)) => Err(End::Gone(e)),
            Ok(Ok(())) => {
                SinkStats::add(&self.stats.bytes, self.out.len() as u64);
                self.out.clear();
                Ok(())
            }
        }
    }

    /// The reports of one frame, when the client watches its device.
    fn report(&mut self, frame: &Frame) {
        let Some(Body::Gps(fix)) = &frame.body else {
            return;
        };
        let device = self.shared.path(&frame.sensor);
        if !self.policy.wants(device) {
            return;
        }
        report::tpv(&mut self.out, device, fix);
        let mut n = 1;
        if report::has_sky(fix) {
            report::sky(&mut self.out, device, fix);
            n += 1;
        }
        SinkStats::add(&self.stats.sent, n);
    }

    /// Answers one request into `out`, as gpsd answers it.
    fn answer(&mut self, r: Request) {
        let shared = &self.shared;
        match r {
            Request::Version => report::version(&mut self.out),
            Request::Devices => report::devices(&mut self.out, &shared.devices, &shared.activated),
            Request::Watch(args) => {
                if let Some(a) = args {
                    self.policy.apply(&a);
                    if let Some(d) = &self.policy.device {
                        if !shared.devices.iter().any(|x| &x.path == d) {
                            report::error(&mut self.out, &format!("No such device as {d}"));
                            return;
                        }
                    }
                }
                report::devices(&mut self.out, &shared.devices, &shared.activated);
                report::watch(&mut self.out, &self.policy);
            }
            Request::Poll => {
                let last = shared.last.lock().map(|l| l.clone()).unwrap_or_default();
                let mut fixes: Vec<(&str, &Frame)> = last
                    .values()
                    .map(|f| (shared.path(&f.sensor), f.as_ref()))
                    .filter(|(d, _)| self.policy.device.as_deref().is_none_or(|w| w == *d))
                    .collect();
                fixes.sort_by_key(|(d, _)| *d);
                let polled: Vec<report::Polled<'_>> = fixes
                    .iter()
                    .filter_map(|(device, f)| match &f.body {
                        Some(Body::Gps(fix)) => Some(report::Polled { device, fix }),
                        _ => None,
                    })
                    .collect();
                report::poll(&mut self.out, &polled);
            }
            Request::Device(None) => {
                for d in &shared.devices {
                    report::device(&mut self.out, d, &shared.activated);
                }
            }
            Request::Device(Some(a)) => {
                if a.changes() {
                    report::error(
                        &mut self.out,
                        "Device configuration is not supported: dronetel does not change its sensors",
                    );
                    return;
                }
                let chosen: Vec<&Device> = match &a.path {
                    Some(p) => shared.devices.iter().filter(|d| &d.path == p).collect(),
                    None => shared.devices.iter().collect(),
                };
                match (&a.path, chosen.as_slice()) {
                    (Some(p), []) => report::error(&mut self.out, &format!("Can't open {p}.")),
                    _ => {
                        for d in chosen {
                            report::device(&mut self.out, d, &shared.activated);
                        }
                    }
                }
            }
            Request::Invalid(message) => report::error(&mut self.out, &message),
        }
    }
}
