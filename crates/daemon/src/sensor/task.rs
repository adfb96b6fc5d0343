//! The one generic supervised sensor task: open the device, read chunks,
//! decode, publish readings and health; on failure report DISCONNECTED and
//! reopen with backoff, until cancelled.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::BytesMut;
use dronetel_proto::v1::{frame::Body, SensorState};
use dronetel_wire::{Reading, SensorDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::health::Health;
use super::host_clock::{self, HostClock};
use super::raw::RawTap;
use crate::backoff::Backoff;
use crate::bus::Bus;

/// Bytes asked for per read.
const READ_CHUNK: usize = 4096;
/// How early a periodic health frame may leave to ride along with a read:
/// while readings flow, health costs no wake-up of its own.
const HEALTH_EARLY_MAX: Duration = Duration::from_millis(250);
/// Longest a write to the device (decoder output such as MAVLink rate
/// requests) may block before it is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most undecoded bytes kept; more means the decoder is not consuming, so
/// the buffer is discarded (counted) rather than grown.
const MAX_PENDING: usize = 64 * 1024;

/// How a sensor task reaches its device: opens it anew after every failure.
pub trait Opener: Send + Sync + 'static {
    /// The open device: read always, written only by protocols that talk
    /// back (see `SensorDecoder::take_output`).
    type Port: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Opens the device.
    fn open(&self) -> impl Future<Output = io::Result<Self::Port>> + Send;
    /// The device as reported in health frames (its path).
    fn device(&self) -> String;
    /// Whether a read that returned less than asked proves the device had
    /// nothing more (a byte stream whose port then waits for readiness
    /// without another read); not so for datagrams, one per read.
    const SHORT_READ_DRAINS: bool = false;
    /// What the open port learned since the last call (a UDP port's new
    /// sender, datagrams it refused); nothing for a point-to-point port.
    fn news(_port: &mut Self::Port) -> PortNews {
        PortNews::default()
    }
}

/// What an open port tells its sensor task after a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortNews {
    /// A new peer to name in health (`device ... from PEER`).
    pub peer: Option<String>,
    /// Input refused since the last call (senders outside `allow_from`).
    pub rejected: u64,
}

/// Per-sensor settings of the task.
#[derive(Debug, Clone)]
pub struct SensorSettings {
    /// Sensor name (`Frame.sensor`, log field `sensor`).
    pub name: String,
    /// Silence after which the sensor is STALE.
    pub stale_after: Duration,
    /// Period of health frames between state changes.
    pub health_interval: Duration,
    /// Reopen delays.
    pub backoff: Backoff,
    /// When the host clock is evidence of the date for the decoder (GPS
    /// week rollover correction).
    pub host_clock: HostClock,
    /// Where the bytes read go as well, for sinks that pass input on
    /// (copied only while one listens).
    pub raw: Option<RawTap>,
}

/// Why one open device stopped being read.
enum PortEnd {
    Cancelled,
    Failed(String),
}

/// State of one running sensor task.
struct SensorTask<D, O> {
    token: CancellationToken,
    bus: Bus,
    s: SensorSettings,
    decoder: D,
    opener: O,
    health: Health,
    /// When the next periodic health frame is due.
    health_at: Instant,
    readings: Vec<Reading>,
    opened_once: bool,
    /// Whether the host clock vouched for the date at the last look, and
    /// when to look again.
    clock_vouches: Option<bool>,
    clock_due: Instant,
    /// The sensor's name as raw chunks carry it.
    raw_name: std::sync::Arc<str>,
}

/// Runs a sensor until `token` is cancelled. Never fails: every problem is a
/// health state.
pub async fn run_sensor<D: SensorDecoder, O: Opener>(
    token: CancellationToken,
    bus: Bus,
    settings: SensorSettings,
    decoder: D,
    opener: O,
) {
    let raw_name = std::sync::Arc::from(settings.name.as_str());
    let health_at = Instant::now() + settings.health_interval;
    let mut task = SensorTask {
        health: Health::new(opener.device()),
        health_at,
        token,
        bus,
        s: settings,
        decoder,
        opener,
        readings: Vec::new(),
        opened_once: false,
        clock_vouches: None,
        clock_due: Instant::now(),
        raw_name,
    };
    task.run().await;
}

impl<D: SensorDecoder, O: Opener> SensorTask<D, O> {
    async fn run(&mut self) {
        tracing::info!(sensor = %self.s.name, device = %self.health.device, state = ?SensorState::Starting, "sensor starting");
        self.publish_health();
        let mut backoff = self.s.backoff.clone();
        loop {
            let opened = tokio::select! {
                _ = self.token.cancelled() => return,
                r = self.opener.open() => r,
            };
            let error = match opened {
                Ok(port) => {
                    if self.opened_once {
                        self.health.reopen_count += 1;
                    }
                    self.opened_once = true;
                    if self.health.state == SensorState::Disconnected {
                        self.change(SensorState::Starting);
                    }
                    match self.read_port(port, &mut backoff).await {
                        PortEnd::Cancelled => return,
                        PortEnd::Failed(e) => e,
                    }
                }
                Err(e) => format!("open failed: {e}"),
            };
            if self.health.state != SensorState::Disconnected {
                self.health.last_error = error;
                self.change(SensorState::Disconnected);
            } else {
                self.health.last_error = error;
            }
            let until = Instant::now() + backoff.next_delay();
            loop {
                tokio::select! {
                    _ = self.token.cancelled() => return,
                    _ = sleep_until(until) => break,
                    _ = sleep_until(self.health_at) => self.publish_health(),
                }
            }
        }
    }

    /// Reads one open device until it fails or the task is cancelled.
    async fn read_port(&mut self, mut port: O::Port, backoff: &mut Backoff) -> PortEnd {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        // Reads land in bytes that are already initialized, then join the
        // decoder's buffer: a read into the buffer's spare capacity would
        // have the serial port (`SerialPort::poll_read`, through
        // `ReadBuf::initialize_unfilled`) zero all of it (up to 4 KiB)
        // first, on every read.
        let mut chunk = vec![0u8; READ_CHUNK];
        let opened_at = Instant::now();
        let idle_gap = self.decoder.idle_gap();
        let mut idle_deadline: Option<Instant> = None;
        let mut health_due = false;
        // The cancellation lives across reads: made anew per read it would
        // join the token's waiters on every read and leave them on the
        // next. (The timer below is made anew: one kept across reads and
        // moved once an interval cost the daemon an extra wake-up a
        // second, the timer wheel's move of a far timer to its fine wheel.)
        let token = self.token.clone();
        let cancelled = token.cancelled();
        tokio::pin!(cancelled);
        self.decoder.on_open();
        loop {
            if let Some(out) = self.decoder.take_output() {
                if let Some(end) = self.write(&mut port, &out).await {
                    return end;
                }
            }
            let quiet_since = self
                .health
                .last_message
                .map_or(opened_at, |t| t.max(opened_at));
            let stale_at = quiet_since + self.s.stale_after;
            let check_stale = matches!(
                self.health.state,
                SensorState::Starting | SensorState::Online
            );
            // One timer for both: staleness and the periodic health frame.
            let wake_at = if check_stale {
                stale_at.min(self.health_at)
            } else {
                self.health_at
            };
            let published = self.health.readings_published;
            let mut drained = false;
            tokio::select! {
                biased;
                () = &mut cancelled => return PortEnd::Cancelled,
                r = port.read(&mut chunk) => match r {
                    Ok(0) => return PortEnd::Failed("end of file".to_owned()),
                    Ok(n) => {
                        self.health.bytes_read += n as u64;
                        let read = chunk.get(..n).unwrap_or_default();
                        buf.extend_from_slice(read);
                        if let Some(tap) = &self.s.raw {
                            tap.send(&self.raw_name, read);
                        }
                        self.absorb(O::news(&mut port));
                        let read_at = Instant::now();
                        self.refresh_clock_evidence(read_at);
                        if let Err(e) = self.decode(&mut buf, backoff) {
                            return PortEnd::Failed(format!("decode failed: {e}"));
                        }
                        drained = O::SHORT_READ_DRAINS && n < chunk.len();
                        // A health frame nearly due leaves with this read
                        // rather than on a wake-up of its own.
                        health_due = read_at + self.health_early() >= self.health_at;
                        // No timer (no wake-up) unless something is held.
                        idle_deadline = idle_gap
                            .filter(|_| self.decoder.holds_pending())
                            .map(|g| read_at + g);
                    }
                    Err(e) => return PortEnd::Failed(format!("read failed: {e}")),
                },
                () = sleep_until(wake_at) => {
                    let now = Instant::now();
                    if check_stale && now >= stale_at {
                        self.change(SensorState::Stale);
                    }
                    health_due = now >= self.health_at;
                }
                _ = sleep_until(idle_deadline.unwrap_or(opened_at)), if idle_deadline.is_some() => {
                    idle_deadline = None;
                    if let Some(r) = self.decoder.flush_idle() {
                        self.publish(r);
                    }
                }
            }
            if std::mem::take(&mut health_due) {
                // Refused input may never complete a read: its count is
                // taken here too.
                self.absorb(O::news(&mut port));
                self.publish_periodic_health();
            }
            if self.health.readings_published != published && !drained {
                // Let the clients send what was just published before the
                // next read: a device that always has bytes ready must not
                // starve them (the daemon runs every task on one thread).
                // After a read that drained the device the next read waits
                // anyway, which lets them run without this extra turn.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Hands the decoder the host clock's evidence of the date before it
    /// decodes a read made at `now`, at most every
    /// [`host_clock::REFRESH`]; logs when the clock starts or stops
    /// vouching.
    fn refresh_clock_evidence(&mut self, now: Instant) {
        // Flight-controller and tracker decoders never look at the clock,
        // and an untrusted clock is never evidence (the decoder starts
        // without any): nothing to hand them.
        if !self.decoder.uses_time_evidence() || self.s.host_clock == HostClock::Untrusted {
            return;
        }
        if now < self.clock_due {
            return;
        }
        self.clock_due = now + host_clock::REFRESH;
        let evidence = self.s.host_clock.evidence();
        self.decoder.set_time_evidence(evidence);
        let vouches = evidence.is_some();
        if self.clock_vouches != Some(vouches) {
            tracing::info!(sensor = %self.s.name, policy = ?self.s.host_clock, vouches, "host clock as evidence of the date for gps week rollovers");
        }
        self.clock_vouches = Some(vouches);
    }

    /// Takes in what the port learned: a new peer names the device, refused
    /// input is counted.
    fn absorb(&mut self, news: PortNews) {
        self.health.rejected_datagrams += news.rejected;
        if let Some(peer) = news.peer {
            self.health.device = format!("{} from {peer}", self.opener.device());
            tracing::debug!(sensor = %self.s.name, device = %self.health.device, "sensor peer changed");
        }
    }

    /// Writes decoder output to the device; `Some` ends the port.
    async fn write(&mut self, port: &mut O::Port, out: &[u8]) -> Option<PortEnd> {
        let write = tokio::time::timeout(WRITE_TIMEOUT, async {
            port.write_all(out).await?;
            port.flush().await
        });
        tokio::select! {
            _ = self.token.cancelled() => Some(PortEnd::Cancelled),
            r = write => match r {
                Ok(Ok(())) => {
                    tracing::debug!(sensor = %self.s.name, bytes = out.len(), "wrote to device");
                    None
                }
                Ok(Err(e)) => Some(PortEnd::Failed(format!("write failed: {e}"))),
                Err(_) => {
                    tracing::warn!(sensor = %self.s.name, bytes = out.len(), "write to device timed out; output dropped");
                    None
                }
            },
        }
    }

    /// Decodes what is buffered, updates health, publishes readings.
    fn decode(&mut self, buf: &mut BytesMut, backoff: &mut Backoff) -> io::Result<()> {
        let before = self.decoder.stats().messages_ok;
        let result = loop {
            match self.decoder.decode(buf) {
                Ok(Some(r)) => self.readings.push(r),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if buf.len() > MAX_PENDING {
            self.health.overflow_discards += 1;
            buf.clear();
        }
        if self.decoder.stats().messages_ok > before {
            self.health.last_message = Some(Instant::now());
            backoff.reset();
            self.change(SensorState::Online);
        }
        // The buffer is kept (no allocation per read).
        let mut readings = std::mem::take(&mut self.readings);
        for r in readings.drain(..) {
            self.publish(r);
        }
        self.readings = readings;
        result
    }

    /// Publishes a reading once the value contract has removed its invalid
    /// values (counted in health); a reading with nothing valid left is not
    /// published.
    fn publish(&mut self, reading: Reading) {
        let checked = dronetel_wire::contract::enforce(reading);
        self.health.invalid_values += u64::from(checked.invalid);
        let Some(reading) = checked.reading else {
            return;
        };
        self.bus.publish(&self.s.name, body_of(reading));
        self.health.readings_published += 1;
    }

    /// Moves to `state`; on a change logs it once and sends a health frame.
    fn change(&mut self, state: SensorState) {
        if !self.health.set(state) {
            return;
        }
        let name = &self.s.name;
        if state == SensorState::Disconnected {
            tracing::warn!(sensor = %name, state = ?state, device = %self.health.device, error = %self.health.last_error, "sensor state changed");
        } else {
            tracing::info!(sensor = %name, state = ?state, "sensor state changed");
        }
        self.publish_health();
    }

    /// Sends a health frame now; the next periodic one is due an interval
    /// later.
    fn publish_health(&mut self) {
        let now = Instant::now();
        let report = self.health.report(self.decoder.stats(), now);
        self.bus.publish(&self.s.name, Body::Health(report));
        self.health_at = now + self.s.health_interval;
    }

    /// Sends the periodic health frame, keeping the cadence: one sent early
    /// with a read does not pull the next one earlier.
    fn publish_periodic_health(&mut self) {
        let due = self.health_at;
        self.publish_health();
        self.health_at = self.health_at.max(due + self.s.health_interval);
    }

    /// How early a periodic health frame may ride along with a read: a
    /// quarter of the interval, at most [`HEALTH_EARLY_MAX`].
    fn health_early(&self) -> Duration {
        (self.s.health_interval / 4).min(HEALTH_EARLY_MAX)
    }
}

/// The frame body of a reading.
pub fn body_of(reading: Reading) -> Body {
    match reading {
        Reading::Gps(fix) => Body::Gps(fix),
        Reading::Battery(b) => Body::Battery(b),
        Reading::Tracking(t) => Body::Tracking(t),
        Reading::Vehicle(v) => Body::Vehicle(v),
    }
}
