//! A simulated device on a pty: the handle tests and the demo hold, and the
//! task that drives the pty (and the network outputs) from the receiver
//! model.
//!
//! # Layout
//! - this file: [`Device`], [`DeviceHandle`], [`DeviceStats`], the task.
//! - `fault_controls`: the fault-injection controls of a handle.
//! - `net`: the network outputs (UDP, TCP server) beside the pty.

mod fault_controls;
pub(crate) mod net;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::epochs::Epochs;
use crate::fault::{self, Faults, Framing};
use crate::pty::{Pty, WriteOutcome};
use crate::Truth;
use net::{Net, NetAddrs, NetConfig};

/// Truth values buffered per subscriber before the slowest one lags.
const TRUTH_CAPACITY: usize = 256;

/// Counters of one device since the simulator started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Cycles written to the pty completely.
    pub cycles_sent: u64,
    /// Bytes written to the pty.
    pub bytes_sent: u64,
    /// Messages in the cycles written completely: NMEA sentences, MAVLink
    /// messages or tracker frames.
    pub sentences_sent: u64,
    /// Cycles not (or only partly) written because the pty buffer was full.
    pub cycles_dropped: u64,
    /// Bytes dropped because the pty buffer was full.
    pub bytes_dropped: u64,
    /// Cycles the model produced while stalled or unplugged (not sent).
    pub cycles_suppressed: u64,
    /// Bytes the daemon wrote to the device (read and discarded), on the
    /// pty and the network outputs.
    pub bytes_received: u64,
    /// MAVLink COMMAND_LONG messages (e.g. SET_MESSAGE_INTERVAL) received
    /// on the network outputs.
    pub commands_received: u64,
    /// Times the device was plugged back in.
    pub replugs: u64,
    /// Whether the pty exists (the link is present).
    pub plugged: bool,
    /// Whether output is stalled.
    pub stalled: bool,
}

/// A handle on one simulated device (cheap to clone). It controls the
/// device's task: unplug, replug, stall; and observes it: truth, counters.
///
/// Cycles are written at UTC epoch boundaries (…00.000, …00.200, … at
/// 5 Hz) as one burst. While nobody reads the device, the pty keeps what it
/// can buffer (about 20 KiB on Linux, a few seconds of cycles) and the rest
/// is dropped and counted, so a reader that opens late first receives that
/// backlog: match cycles to [`Truth`] by time, not by order.
///
/// `T` is what one cycle carried: [`Truth`] for the GPS,
/// [`crate::FcTruth`] for the flight controller, [`crate::TrackerTruth`]
/// for the tracker. The controls live in [`DeviceHandle`] (reached through
/// `Deref`), the same for every device.
pub struct Device<T = Truth> {
    handle: DeviceHandle,
    truth: broadcast::Sender<T>,
}

impl<T> Clone for Device<T> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            truth: self.truth.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Device<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<T> std::ops::Deref for Device<T> {
    type Target = DeviceHandle;
    fn deref(&self) -> &DeviceHandle {
        &self.handle
    }
}

impl<T: Clone> Device<T> {
    /// The truth of every cycle written to the pty from now on, one per
    /// cycle, in order; cycles touched by an injected fault (see
    /// [`crate::fault`]) are left out.
    pub fn subscribe_truth(&self) -> broadcast::Receiver<T> {
        self.truth.subscribe()
    }

    /// The controls, without the truth type (to list devices of all kinds).
    pub fn handle(&self) -> DeviceHandle {
        self.handle.clone()
    }
}

/// The controls and counters of one simulated device, whatever it sends.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    shared: Arc<Shared>,
    control: mpsc::Sender<Control>,
}

impl DeviceHandle {
    /// The fault controls (see [`crate::fault`]).
    pub(crate) fn faults(&self) -> &Faults {
        &self.shared.faults
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    name: &'static str,
    link: PathBuf,
    stalled: AtomicBool,
    plugged: AtomicBool,
    cycles_sent: AtomicU64,
    bytes_sent: AtomicU64,
    sentences_sent: AtomicU64,
    cycles_dropped: AtomicU64,
    bytes_dropped: AtomicU64,
    cycles_suppressed: AtomicU64,
    bytes_received: AtomicU64,
    commands_received: AtomicU64,
    replugs: AtomicU64,
    faults: Faults,
    net: NetConfig,
    net_addrs: std::sync::OnceLock<NetAddrs>,
}

#[derive(Debug)]
enum Control {
    Unplug(oneshot::Sender<()>),
    Replug(oneshot::Sender<()>),
}

impl DeviceHandle {
    /// The path the device is linked at (`DIR/gps`).
    pub fn link(&self) -> PathBuf {
        self.shared.link.clone()
    }

    /// The address the device's TCP server listens at (port 0 resolved),
    /// for clients to connect to; `None` without one.
    pub fn tcp_listen_addr(&self) -> Option<SocketAddr> {
        self.shared.net_addrs.get().and_then(|a| a.tcp_listen)
    }

    /// The local address the device sends its UDP output from (where
    /// commands go back to); `None` without UDP output.
    pub fn udp_local_addr(&self) -> Option<SocketAddr> {
        self.shared.net_addrs.get().and_then(|a| a.udp_local)
    }

    /// The device's name (`gps`), also the link's file name.
    pub fn name(&self) -> &'static str {
        self.shared.name
    }

    /// Pulls the plug: closes both ends of the pty (the daemon's reads fail
    /// with EIO or EOF) and removes the link; closes the network outputs
    /// (TCP listener and clients, UDP socket). Returns when all are done.
    pub async fn unplug(&self) {
        self.request(Control::Unplug).await;
    }

    /// Plugs the device back in: a new pty, linked at the same path, and
    /// output resumes. Returns once the link exists (if the pty cannot be
    /// created the error is logged and the device stays unplugged, see
    /// [`DeviceStats::plugged`]). No-op if plugged.
    pub async fn replug(&self) {
        self.request(Control::Replug).await;
    }

    /// Stalls the device (the pty stays but nothing is sent) or resumes it.
    pub fn set_stalled(&self, stalled: bool) {
        if self.shared.stalled.swap(stalled, Ordering::SeqCst) != stalled {
            tracing::info!(device = self.shared.name, stalled, "device stall changed");
        }
    }

    /// The device's counters now.
    pub fn stats(&self) -> DeviceStats {
        let s = &self.shared;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        DeviceStats {
            cycles_sent: get(&s.cycles_sent),
            bytes_sent: get(&s.bytes_sent),
            sentences_sent: get(&s.sentences_sent),
            cycles_dropped: get(&s.cycles_dropped),
            bytes_dropped: get(&s.bytes_dropped),
            cycles_suppressed: get(&s.cycles_suppressed),
            bytes_received: get(&s.bytes_received),
            commands_received: get(&s.commands_received),
            replugs: get(&s.replugs),
            plugged: s.plugged.load(Ordering::SeqCst),
            stalled: s.stalled.load(Ordering::SeqCst),
        }
    }

    async fn request(&self, make: impl FnOnce(oneshot::Sender<()>) -> Control) {
        let (tx, rx) = oneshot::channel();
        if self.control.send(make(tx)).await.is_ok() {
            // An error means the task ended (simulator stopped): nothing to do.
            let _ = rx.await;
        }
    }
}

/// What a simulated device sends: one cycle per tick.
pub(crate) trait Source: Send + 'static {
    /// What one cycle carried.
    type Truth: Clone + Send + 'static;
    /// Builds the cycle of the tick at `epoch` into `out` (the model runs
    /// on every tick, sent or not) and returns its truth.
    fn cycle(&mut self, epoch: SystemTime, out: &mut Vec<u8>) -> Self::Truth;
    /// How the protocol frames its messages (for fault injection).
    const FRAMING: Framing;
    /// Records that `truth`'s cycle reached the wire.
    fn mark_sent(&mut self, _truth: &Self::Truth) {}
    /// The line went down (unplug).
    fn reset_line(&mut self) {}
    /// Where the messages in `out` (sentences, frames) are, in order.
    fn messages(&self, out: &[u8]) -> Vec<std::ops::Range<usize>>;
    /// Bytes the daemon wrote to the device's pty; what the device answers
    /// goes to `reply` (written at once, no faults). Default: ignored.
    fn input(&mut self, _bytes: &[u8], _reply: &mut Vec<u8>) {}
}

/// Opens the device's pty at `link` and its network outputs (`net`), and
/// returns its handle and its task, ready to spawn.
pub(crate) fn device<S: Source>(
    name: &'static str,
    seed: u64,
    link: &Path,
    source: S,
    period: Duration,
    net: NetConfig,
    cancel: CancellationToken,
) -> Result<(Device<S::Truth>, impl std::future::Future<Output = ()>), crate::SimError> {
    let pty = Pty::open(link)?;
    tracing::info!(device = name, link = %link.display(), pty = %pty.slave_path().display(), "device plugged");
    let (truth, _) = broadcast::channel(TRUTH_CAPACITY);
    let (control, control_rx) = mpsc::channel(4);
    let shared = Arc::new(Shared {
        name,
        link: link.to_path_buf(),
        stalled: AtomicBool::new(false),
        plugged: AtomicBool::new(true),
        cycles_sent: AtomicU64::new(0),
        bytes_sent: AtomicU64::new(0),
        sentences_sent: AtomicU64::new(0),
        cycles_dropped: AtomicU64::new(0),
        bytes_dropped: AtomicU64::new(0),
        cycles_suppressed: AtomicU64::new(0),
        bytes_received: AtomicU64::new(0),
        commands_received: AtomicU64::new(0),
        replugs: AtomicU64::new(0),
        faults: Faults::new(seed ^ name.bytes().fold(0, |h, b| h * 31 + u64::from(b))),
        net,
        net_addrs: std::sync::OnceLock::new(),
    });
    let net = if net.is_off() {
        None
    } else {
        let (n, addrs) = Net::open(net, NetAddrs::default(), &shared)?;
        tracing::info!(device = name, udp_to = ?net.udp, udp_from = ?addrs.udp_local, tcp_listen = ?addrs.tcp_listen, "network outputs open");
        let _ = shared.net_addrs.set(addrs);
        Some(n)
    };
    let task = run(
        shared.clone(),
        truth.clone(),
        (pty, net),
        source,
        period,
        control_rx,
        cancel,
    );
    let handle = DeviceHandle { shared, control };
    Ok((Device { handle, truth }, task))
}

/// The device task: one cycle per tick, control requests, draining input.
/// `outputs` are the open pty and network outputs.
async fn run<S: Source>(
    shared: Arc<Shared>,
    truth_tx: broadcast::Sender<S::Truth>,
    outputs: (Pty, Option<Net>),
    mut receiver: S,
    period: Duration,
    mut control: mpsc::Receiver<Control>,
    cancel: CancellationToken,
) {
    let (pty, mut net) = outputs;
    let mut pty = Some(pty);
    let mut epochs = Epochs::new(period);
    let mut ticker = tokio::time::interval_at(epochs.first_tick(), period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut buf = Vec::with_capacity(4096);
    let mut wire = Vec::with_capacity(4096);
    let mut input = [0u8; 512];
    let mut reply = Vec::new();
    let mut rate = 1;
    let name = shared.name;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(c) = control.recv() => match c {
                Control::Unplug(ack) => {
                    net = None;
                    if pty.take().is_some() {
                        shared.plugged.store(false, Ordering::SeqCst);
                        receiver.reset_line();
                        tracing::info!(device = name, "device unplugged");
                    }
                    let _ = ack.send(());
                }
                Control::Replug(ack) => {
                    if pty.is_none() {
                        match Pty::open(&shared.link) {
                            Ok(p) => {
                                tracing::info!(device = name, pty = %p.slave_path().display(), "device replugged");
                                pty = Some(p);
                                shared.plugged.store(true, Ordering::SeqCst);
                                shared.replugs.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => tracing::warn!(device = name, error = %e, "replug failed"),
                        }
                    }
                    if pty.is_some() && net.is_none() && !shared.net.is_off() {
                        let addrs = shared.net_addrs.get().copied().unwrap_or_default();
                        match Net::open(shared.net, addrs, &shared) {
                            Ok((n, _)) => net = Some(n),
                            Err(e) => tracing::warn!(device = name, error = %e, "network outputs not reopened"),
                        }
                    }
                    let _ = ack.send(());
                }
            },
            _ = ticker.tick() => {
                let (behind, multiplier) =
                    shared.faults.with(|f| (f.clock_behind, f.rate_multiplier));
                if multiplier != rate {
                    rate = multiplier;
                    epochs.set_period(period / rate);
                    ticker = tokio::time::interval_at(epochs.first_tick(), period / rate);
                    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
                }
                let epoch = epochs.next(SystemTime::now());
                buf.clear();
                let truth = receiver.cycle(epoch.checked_sub(behind).unwrap_or(UNIX_EPOCH), &mut buf);
                let stalled = shared.stalled.load(Ordering::SeqCst);
                match pty.as_ref().filter(|_| !stalled) {
                    None => {
                        shared.cycles_suppressed.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(p) => {
                        let line = Line { pty: p, net: net.as_ref() };
                        send(&shared, &line, &mut receiver, &buf, &mut wire, truth, &truth_tx, rate);
                    }
                }
            },
            r = Pty::read_or_wait(pty.as_ref(), &mut input) => match r {
                Ok(n) => {
                    shared.bytes_received.fetch_add(n as u64, Ordering::SeqCst);
                    reply.clear();
                    receiver.input(input.get(..n).unwrap_or_default(), &mut reply);
                    // Answers go back where the requests came from.
                    if let (false, Some(p)) = (reply.is_empty(), pty.as_ref()) {
                        let _ = p.write_or_drop(&reply);
                    }
                }
                Err(e) => {
                    tracing::warn!(device = name, error = %e, "pty read failed; unplugging");
                    pty = None;
                    net = None;
                    shared.plugged.store(false, Ordering::SeqCst);
                }
            },
        }
    }
    drop(net);
    drop(pty);
    shared.plugged.store(false, Ordering::SeqCst);
    tracing::debug!(device = name, "device task stopped");
}

/// Where a plugged device's bytes go: its pty and its network outputs.
struct Line<'a> {
    pty: &'a Pty,
    net: Option<&'a Net>,
}

impl Line<'_> {
    /// Writes `buf` to every output without waiting; counts as written
    /// whole if any output took all of it (someone may be reading there).
    fn write_or_drop(&self, buf: &[u8]) -> WriteOutcome {
        let pty = self.pty.write_or_drop(buf);
        match self.net.map(|n| n.write_or_drop(buf)) {
            Some(net) if net.dropped == 0 || pty.dropped == 0 => WriteOutcome {
                written: buf.len(),
                dropped: 0,
            },
            _ => pty,
        }
    }
}

/// Writes one cycle (`buf`, its truth `truth`) with the faults applied to
/// the pty and the network outputs, counts it, and publishes its truth if it reached the wire
/// whole and untouched.
#[allow(clippy::too_many_arguments)]
fn send<S: Source>(
    shared: &Shared,
    p: &Line<'_>,
    receiver: &mut S,
    buf: &[u8],
    wire: &mut Vec<u8>,
    truth: S::Truth,
    truth_tx: &broadcast::Sender<S::Truth>,
    rate: u32,
) {
    let messages = receiver.messages(buf);
    let (noise, touched) = shared.faults.with(|f| {
        let noise = f.take_noise();
        let touched = if f.rates == fault::FaultRates::default() && !f.splice_pending {
            wire.clear();
            wire.extend_from_slice(buf);
            false
        } else {
            fault::apply(buf, &messages, S::FRAMING, f, wire)
        };
        (noise, touched)
    });
    if !noise.is_empty() {
        let out = p.write_or_drop(&noise);
        shared.faults.with(|f| {
            f.stats.noise_bytes += out.written as u64;
            f.stats.noise_dropped += out.dropped as u64;
        });
    }
    let touched = touched || !noise.is_empty();
    let out = p.write_or_drop(wire);
    shared
        .bytes_sent
        .fetch_add(out.written as u64, Ordering::SeqCst);
    if out.dropped == 0 {
        shared
            .sentences_sent
            .fetch_add(messages.len() as u64, Ordering::SeqCst);
        shared.cycles_sent.fetch_add(1, Ordering::SeqCst);
        shared.faults.with(|f| {
            f.stats.cycles_touched += u64::from(touched);
            f.stats.burst_cycles += u64::from(rate > 1);
        });
        if !touched {
            receiver.mark_sent(&truth);
            let _ = truth_tx.send(truth);
        }
    } else {
        shared
            .bytes_dropped
            .fetch_add(out.dropped as u64, Ordering::SeqCst);
        if shared.cycles_dropped.fetch_add(1, Ordering::SeqCst) == 0 {
            tracing::info!(
                device = shared.name,
                "pty buffer full (nobody reading): dropping output"
            );
        }
    }
}
