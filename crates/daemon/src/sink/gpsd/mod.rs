//! The gpsd sink (`[gpsd]`): gpsd's JSON protocol (`gpsd_json(5)`, 3.x)
//! on a TCP port, so that gpsd clients (`gpspipe`, `cgps`, the Python
//! `gps` module, chrony's and ROS's gpsd readers) read every GPS source of
//! the daemon unchanged. Each configured GPS source (an NMEA receiver, the
//! flight controller's GPS_RAW_INT) is one gpsd device named by its path.
//!
//! A client gets `VERSION` on connect and may send `?VERSION;`,
//! `?DEVICES;`, `?WATCH;`/`?WATCH={...};`, `?POLL;` and
//! `?DEVICE;`/`?DEVICE={"path":...};`; anything else is answered with an
//! `ERROR` object and the connection stays open. A JSON watcher gets,
//! per fix, a `SKY` and a `GST` when the fix has them and a `TPV`, in
//! gpsd's order; each fix's reports are encoded once and the same bytes
//! go to every watcher. A `"pps":true` watcher gets a `TOFF` (fix time
//! and the host clock when it was read) for each device's first fix of
//! every second, as gpsd sends them. An `"nmea":true` watcher gets the
//! sentences of its NMEA devices as they were received (the daemon's
//! [`RawTap`], copied from the sensors only while such a watcher is
//! connected). The device list
//! follows reloads that change the sensors. Requests are bounded
//! ([`request::MAX_REQUEST`]), reports wait in the client's bus queue (the
//! oldest are lost first, counted) and a client that loses more than
//! `max_client_drops` or blocks a write past `write_timeout` is
//! disconnected.
//!
//! # Layout
//! - [`config`]: the `[gpsd]` section.
//! - [`request`]: splitting requests off a client's bytes; the watch policy.
//! - [`report`]: the JSON objects (`TPV`, `SKY`, `GST`, `DEVICES`, ...).
//! - [`error_model`]: gpsd's `epx`/`epy`/`eps`/`epc`.

pub mod config;
pub mod error_model;
pub mod report;
pub mod request;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dronetel_proto::v1::frame::Body;
use dronetel_proto::v1::{Frame, GpsFix};
use dronetel_wire::nmea::lines::SentenceLines;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::bus::{BusCounters, Published, Received};
use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sensor::raw::{RawChunk, RawListener, RawTap};
use crate::sink::accept::{accept_loop, Admission};
use crate::sink::contract::{
    ClientSide, Endpoint, SensorList, Sink, SinkContext, SinkError, SinkHandle,
};
use crate::sink::frames::SinkFrames;
use crate::sink::stats::{Connected, SinkStats};
pub use config::{GpsdConfig, RawGpsd};
use report::Device;
use request::{Next, Policy, Request, Requests};

/// Bytes of reports gathered before they are written.
const MAX_BATCH: usize = 64 * 1024;
/// Bytes read from a client at a time.
const READ_CHUNK: usize = 1024;
/// Fixes whose encoded reports are kept for watchers still to send them.
const RECENT: usize = 64;
/// Kernel send buffer of a client socket, bytes (Linux doubles it): a
/// stalled client holds at most this much in the kernel, one or two
/// seconds of a 37-satellite receiver's reports at 10 Hz, instead of the
/// megabytes autotuning grows a loopback socket's buffer to (a minute of
/// reports, sent late); past it the write waits under `write_timeout`
/// and the reports wait in the client's queue.
const SOCKET_SEND_BUFFER: usize = 64 * 1024;
/// Most devices whose error-model state the sink keeps; past it the one
/// seen first is forgotten (its next fix starts without a previous one).
const MAX_DEVICES: usize = 64;

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

    /// Binds the port, then starts the accept loop. `?POLL;` reads each
    /// device's last fix from the bus, which remembers it.
    async fn start(config: &GpsdConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| SinkError::new::<Self>("listen", format!("gpsd {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SinkError::new::<Self>("listen", e))?;
        let shared = Arc::new(Shared {
            sensors: cx.daemon().sensors.clone(),
            selection: config.selection.clone(),
            activated: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            bus: cx.daemon().bus.clone(),
            reports: Mutex::default(),
            raw: cx.daemon().raw.clone(),
        });
        tracing::info!(addr = %addr, devices = shared.devices().len(), "gpsd protocol listening");
        if !addr.ip().is_loopback() {
            tracing::warn!(addr = %addr, "gpsd port is reachable from the network: reports are not encrypted or authenticated");
        }
        let admission = Admission::new(config.max_clients);
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

/// What every client of the sink shares: the devices, their last fix and
/// the reports of the latest fixes.
#[derive(Debug)]
struct Shared {
    /// The daemon's sensors, current after every reload.
    sensors: SensorList,
    /// The sink's selection: its devices and the fixes `?POLL;` reports.
    selection: Selection,
    /// When the sink started: every device's `activated`.
    activated: String,
    /// The bus, for each sensor's last fix (`?POLL;`); a view that does
    /// not keep it open.
    bus: BusCounters,
    /// The latest fixes' reports, encoded once for every watcher.
    reports: Mutex<Reports>,
    /// The sensors' input, for `"nmea":true` watchers.
    raw: RawTap,
}

/// Reports of recent fixes, each encoded once for every watcher (by the
/// first that needs it), and what gpsd's error model keeps per device.
#[derive(Debug, Default)]
struct Reports {
    /// The latest encodings, oldest first.
    recent: VecDeque<Encoded>,
    /// Each sensor's state, found by a walk (a daemon has a handful of
    /// sensors: no hashing on every fix).
    devices: Vec<DeviceState>,
    /// The size of the last encoding: the next one's buffer is made about
    /// that big at once rather than grown on the way.
    last_len: usize,
}

/// What gpsd's error model keeps of one sensor between its fixes.
#[derive(Debug)]
struct DeviceState {
    sensor: String,
    /// Its last encoded fix (`seq`, what the next one needs).
    previous: Option<(u64, error_model::Previous)>,
    /// The geometry of its last sky view and its DOPs, for the error
    /// model, kept for the cycles without a sky view (gpsd keeps its sky
    /// between GSV sentences).
    geometry: error_model::Geometry,
    /// The second of its last `TOFF`: gpsd sends one for the first fix
    /// of each second later than the last.
    toff_sec: Option<i64>,
}

/// One fix's reports as every watcher receives them.
#[derive(Debug, Clone)]
struct Encoded {
    /// The frame's `seq`.
    seq: u64,
    /// `SKY`, `GST`, `TPV` lines.
    bytes: Bytes,
    /// How many objects.
    reports: u64,
    /// The `TOFF` line for `pps` watchers, when the fix is the device's
    /// first of a new second; else empty.
    toff: Bytes,
}

impl Shared {
    /// The devices as `DEVICES` lists them now: the configured GPS sources
    /// (not trackers) of the sink's selection.
    fn devices(&self) -> Vec<Device> {
        self.sensors
            .borrow()
            .iter()
            .filter(|s| s.protocol != "tracker")
            .filter(|s| self.selection.wants_sensor(&s.name))
            .map(|s| Device {
                sensor: s.name.clone(),
                path: s.path.clone(),
                driver: Device::driver_for(s.protocol),
                bps: s.bps,
            })
            .collect()
    }

    /// `f` of the gpsd device of a sensor's frames: its configured path,
    /// else its name (a replayed recording's sensors are not configured),
    /// and whether it is an NMEA source.
    fn with_device<R>(&self, sensor: &str, f: impl FnOnce(&str, bool) -> R) -> R {
        let sensors = self.sensors.borrow();
        match sensors.iter().find(|s| s.name == sensor) {
            Some(s) => f(&s.path, s.raw_nmea),
            None => f(sensor, false),
        }
    }

    /// The reports of `fix` (frame `frame`) for watchers, encoded on the
    /// first call for its `seq` and shared after.
    fn reports_of(&self, frame: &Frame, fix: &GpsFix) -> Option<Encoded> {
        let mut guard = self.reports.lock().ok()?;
        let r = &mut *guard;
        if let Some(e) = r.recent.iter().rev().find(|e| e.seq == frame.seq) {
            return Some(e.clone());
        }
        let i = match r.devices.iter().position(|d| d.sensor == frame.sensor) {
            Some(i) => i,
            None => {
                // Bounded: a replayed recording may name any sensors.
                if r.devices.len() >= MAX_DEVICES {
                    r.devices.remove(0);
                }
                r.devices.push(DeviceState {
                    sensor: frame.sensor.clone(),
                    previous: None,
                    geometry: error_model::Geometry::default(),
                    toff_sec: None,
                });
                r.devices.len() - 1
            }
        };
        let d = r.devices.get_mut(i)?;
        let previous = d
            .previous
            .filter(|(seq, _)| *seq < frame.seq)
            .map(|(_, p)| p);
        let dops = if fix.sky.is_empty() {
            d.geometry.dops()
        } else {
            d.geometry.update(&fix.sky)
        };
        let (errors, next) = report::errors(fix, dops, previous.as_ref());
        let mut out = Vec::with_capacity(r.last_len + 512);
        let mut toff = Vec::new();
        let reports = self.with_device(&frame.sensor, |device, _| {
            if let (Some(real), Some(clock)) = (fix.time.as_ref(), frame.received_at.as_ref()) {
                if report::mode(fix) >= 2 && d.toff_sec.is_none_or(|s| real.seconds > s) {
                    d.toff_sec = Some(real.seconds);
                    report::toff(&mut toff, device, real, clock);
                }
            }
            report::fix_reports(&mut out, device, fix, errors, dops)
        });
        if let Some(next) = next {
            if d.previous.is_none_or(|(seq, _)| seq < frame.seq) {
                d.previous = Some((frame.seq, next));
            }
        }
        r.last_len = out.len();
        let e = Encoded {
            seq: frame.seq,
            bytes: Bytes::from(out),
            reports,
            toff: Bytes::from(toff),
        };
        if r.recent.len() >= RECENT {
            r.recent.pop_front();
        }
        r.recent.push_back(e.clone());
        Some(e)
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
            raw: None,
            lines: HashMap::new(),
        };
        let _ = conn.set_nodelay(true);
        let _ = nix::sys::socket::setsockopt(
            &conn,
            nix::sys::socket::sockopt::SndBuf,
            &SOCKET_SEND_BUFFER,
        );
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
    /// The sensors' input while the client wants sentences.
    raw: Option<RawListener>,
    /// A line assembler per sensor whose sentences it gets.
    lines: HashMap<Arc<str>, SentenceLines>,
}

/// The next chunk of `raw`, or never without one.
async fn next_raw(raw: &mut Option<RawListener>) -> RawChunk {
    match raw {
        Some(l) => l.recv().await,
        None => std::future::pending().await,
    }
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
                    self.report(&p);
                    while self.out.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Some(p) => self.report(&p),
                            None => break,
                        }
                    }
                    if self.limits.max_drops > 0 && rx.dropped() > self.limits.max_drops {
                        return End::TooSlow;
                    }
                }
                chunk = next_raw(&mut self.raw) => self.sentences(&chunk),
            }
        }
    }

    /// Writes what is gathered in `out`.
    async fn flush(&mut self, wr: &mut OwnedWriteHalf) -> Result<(), End> {
        if self.out.is_empty() {
            return Ok(());
        }
        let total = self.out.len();
        // Most writes fit the socket's buffer at once: only what is left
        // waits, under the write timeout (no timer made for every fix).
        let done = match wr.try_write(&self.out) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(End::Gone(e)),
        };
        let rest = self.out.get(done..).unwrap_or_default();
        if !rest.is_empty() {
            match tokio::time::timeout(self.limits.write_timeout, wr.write_all(rest)).await {
                Err(_) => return Err(End::WriteTimeout),
                Ok(Err(e)) => return Err(End::Gone(e)),
                Ok(Ok(())) => {}
            }
        }
        SinkStats::add(&self.stats.bytes, total as u64);
        self.out.clear();
        Ok(())
    }

    /// The reports of one frame, when the client watches its device.
    fn report(&mut self, p: &Published) {
        let Some(Body::Gps(fix)) = &p.frame().body else {
            return;
        };
        let policy = &self.policy;
        let (json, toff) = self.shared.with_device(&p.frame().sensor, |device, _| {
            (policy.wants(device), policy.wants_toff(device))
        });
        if !json && !toff {
            return;
        }
        if let Some(e) = self.shared.reports_of(p.frame(), fix) {
            // gpsd sends a cycle's TOFF when its time arrives, before the
            // cycle's reports.
            if toff && !e.toff.is_empty() {
                self.out.extend_from_slice(&e.toff);
                SinkStats::add(&self.stats.sent, 1);
            }
            if json {
                self.out.extend_from_slice(&e.bytes);
                SinkStats::add(&self.stats.sent, e.reports);
            }
        }
    }

    /// The whole sentences of a chunk a sensor read, when the client wants
    /// its device's sentences.
    fn sentences(&mut self, chunk: &RawChunk) {
        let policy = &self.policy;
        let wanted = self.shared.with_device(&chunk.sensor, |device, nmea| {
            nmea && self.shared.selection.wants_sensor(&chunk.sensor)
                && policy.wants_sentences(device)
        });
        if !wanted {
            return;
        }
        let lines = self.lines.entry(chunk.sensor.clone()).or_default();
        let n = lines.push(&chunk.bytes, &mut self.out);
        SinkStats::add(&self.stats.sent, n as u64);
    }

    /// Starts or stops listening to the sensors' input as the policy now
    /// asks; sentences half received are forgotten when it stops.
    fn follow_policy(&mut self) {
        let wants = self.policy.watcher && (self.policy.nmea || self.policy.raw > 0);
        match (wants, self.raw.is_some()) {
            (true, false) => self.raw = Some(self.shared.raw.listen()),
            (false, true) => {
                self.raw = None;
                self.lines.clear();
            }
            _ => {}
        }
    }

    /// Answers one request into `out`, as gpsd answers it.
    fn answer(&mut self, r: Request) {
        let shared = self.shared.clone();
        let devices = match &r {
            Request::Devices | Request::Watch(_) | Request::Device(_) => shared.devices(),
            _ => Vec::new(),
        };
        match r {
            Request::Version => report::version(&mut self.out),
            Request::Devices => report::devices(&mut self.out, &devices, &shared.activated),
            Request::Watch(args) => {
                if let Some(a) = args {
                    self.policy.apply(&a);
                    self.follow_policy();
                    if let Some(d) = &self.policy.device {
                        if !devices.iter().any(|x| &x.path == d) {
                            report::error(&mut self.out, &format!("No such device as {d}"));
                            return;
                        }
                    }
                }
                report::devices(&mut self.out, &devices, &shared.activated);
                report::watch(&mut self.out, &self.policy);
            }
            Request::Poll => {
                let last = shared.bus.latest();
                let mut fixes: Vec<(String, &GpsFix)> = last
                    .iter()
                    .filter(|p| shared.selection.wants(p.frame()))
                    .filter_map(|p| match &p.frame().body {
                        Some(Body::Gps(fix)) => {
                            let device = shared.with_device(&p.frame().sensor, |d, _| d.to_owned());
                            Some((device, fix))
                        }
                        _ => None,
                    })
                    .filter(|(d, _)| self.policy.device.as_deref().is_none_or(|w| w == *d))
                    .collect();
                fixes.sort_by(|a, b| a.0.cmp(&b.0));
                let polled: Vec<report::Polled<'_>> = fixes
                    .iter()
                    .map(|(device, fix)| report::Polled { device, fix })
                    .collect();
                report::poll(&mut self.out, &polled);
            }
            Request::Device(None) => {
                for d in &devices {
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
                    Some(p) => devices.iter().filter(|d| &d.path == p).collect(),
                    None => devices.iter().collect(),
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
