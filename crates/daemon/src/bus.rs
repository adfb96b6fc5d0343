//! The frame bus: numbers every frame (`seq`), stamps `received_at`, fans
//! it out to every subscriber without ever waiting for one, and encodes it
//! at most once into shareable [`Bytes`]: by the first subscriber that asks
//! for the bytes, so a daemon whose sinks only read the decoded frame (the
//! gpsd port, chrony) never encodes at all.
//!
//! Fan-out is a `tokio::sync::broadcast` channel: each subscriber has its own
//! read position over a ring of `capacity` frames, so a subscriber that falls
//! further behind loses its oldest frames (counted in [`BusReceiver`] and in
//! [`Bus::dropped`]) while the publisher and everyone else carry on. The
//! channel closes, and subscribers drain what is left and then see the end,
//! once every [`Bus`] clone is dropped: that is how shutdown drains clients.
//!
//! The bus also remembers each sensor's last frame of each kind
//! ([`BusCounters::latest`]) and signals each health frame
//! ([`Bus::watch_health`]), so a reader that wants only "where are we now"
//! (gpsd's `?POLL;`) or the sensors' states (the status board) needs no
//! task woken by every frame to keep them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use dronetel_proto::v1::{frame::Body, Frame};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::consumers::{ConsumerId, Consumers, Registration};

/// One published frame: the decoded value for in-process readers and its
/// delimited encoding (made once, on first use) for the wire, in one
/// allocation that every subscriber's copy shares.
#[derive(Debug, Clone)]
pub struct Published(Arc<PublishedInner>);

/// What a [`Published`] shares: the frame and its encoding, side by side.
#[derive(Debug)]
struct PublishedInner {
    frame: Frame,
    encoded: OnceLock<Bytes>,
}

impl Published {
    fn new(frame: Frame) -> Self {
        Self(Arc::new(PublishedInner {
            frame,
            encoded: OnceLock::new(),
        }))
    }

    /// The frame, with `seq` and `received_at` set.
    pub fn frame(&self) -> &Frame {
        &self.0.frame
    }

    /// `varint(len) ‖ Frame` exactly as stream clients receive it: encoded
    /// by the first caller, shared by all later ones.
    pub fn bytes(&self) -> &Bytes {
        self.0
            .encoded
            .get_or_init(|| dronetel_proto::encode_delimited(&self.0.frame))
    }
}

/// Publishing side of the bus. Clone it into every producer; drop every
/// clone to close the bus.
#[derive(Debug, Clone)]
pub struct Bus {
    tx: broadcast::Sender<Published>,
    shared: Arc<Shared>,
    /// Counts health frames; closes with the last clone.
    health: Arc<watch::Sender<u64>>,
}

#[derive(Debug)]
struct Shared {
    /// The last `seq` and the last readings; the lock also orders sends by
    /// `seq`.
    state: Mutex<State>,
    dropped: AtomicU64,
    consumers: Consumers,
}

/// What the publishing side keeps between frames.
#[derive(Debug, Default)]
struct State {
    /// Last `seq` handed out.
    seq: u64,
    /// The last frame of each kind (a reading or health) from each
    /// sensor. A few sensors with a few kinds each: a list read front to
    /// back costs less per frame than hashing the name.
    latest: Vec<Published>,
}

impl State {
    /// Remembers `p` as its sensor's last frame of its kind; true when it
    /// is a health frame.
    fn remember(&mut self, p: &Published) -> bool {
        let frame = p.frame();
        let Some(body) = &frame.body else {
            return false;
        };
        let kind = std::mem::discriminant(body);
        let same = self.latest.iter_mut().find(|l| {
            let f = l.frame();
            f.body.as_ref().map(std::mem::discriminant) == Some(kind) && f.sensor == frame.sensor
        });
        match same {
            Some(l) => *l = p.clone(),
            None => self.latest.push(p.clone()),
        }
        matches!(body, Body::Health(_))
    }
}

impl Shared {
    /// The publishing state, locked. A poisoned lock is taken over: it
    /// holds a counter and whole frames, never left half updated.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Bus {
    /// Frames kept per subscriber when no sink sizes the queue.
    pub const DEFAULT_QUEUE: usize = 1024;

    /// A bus that keeps up to `capacity` frames per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            shared: Arc::new(Shared {
                state: Mutex::default(),
                dropped: AtomicU64::new(0),
                consumers: Consumers::default(),
            }),
            health: Arc::new(watch::channel(0).0),
        }
    }

    /// Numbers, stamps and sends one frame; returns its `seq`.
    /// Never waits: with no subscriber the frame is simply not delivered.
    pub fn publish(&self, sensor: &str, body: Body) -> u64 {
        let mut state = self.shared.lock();
        state.seq += 1;
        let frame = Frame {
            seq: state.seq,
            sensor: sensor.to_owned(),
            received_at: Some(dronetel_proto::time::timestamp(SystemTime::now())),
            body: Some(body),
        };
        let seq = state.seq;
        self.send(state, frame);
        seq
    }

    /// Sends a frame that already has its `seq` and `received_at` (a
    /// replayed recording) unchanged; the bus's own counter is not touched.
    pub fn republish(&self, frame: Frame) {
        self.send(self.shared.lock(), frame);
    }

    /// Remembers and sends `frame` while `state` is held (sends stay in
    /// `seq` order), then signals a health frame.
    fn send(&self, mut state: MutexGuard<'_, State>, frame: Frame) {
        let p = Published::new(frame);
        let health = state.remember(&p);
        let _ = self.tx.send(p);
        drop(state);
        if health {
            self.health.send_modify(|n| *n += 1);
        }
    }

    /// Changes after every health frame; `changed()` fails once every
    /// clone of the bus is dropped. The frames themselves are in
    /// [`BusCounters::latest`].
    pub fn watch_health(&self) -> watch::Receiver<u64> {
        self.health.subscribe()
    }

    /// Forgets the last frames of `sensor` (removed by a reload), so
    /// [`BusCounters::latest`] no longer reports it.
    pub fn forget(&self, sensor: &str) {
        self.shared
            .lock()
            .latest
            .retain(|p| p.frame().sensor != sensor);
    }

    /// A receiver of every frame published from now on.
    pub fn subscribe(&self) -> BusReceiver {
        BusReceiver {
            rx: self.tx.subscribe(),
            dropped: Arc::default(),
            shared: self.shared.clone(),
            _registration: None,
            stop: None,
        }
    }

    /// [`subscribe`](Bus::subscribe), registered in [`Bus::consumers`] as
    /// `id` for as long as the receiver lives (per-client and per-sink
    /// metrics, the client count of the status line).
    pub fn subscribe_as(&self, id: ConsumerId) -> BusReceiver {
        let mut rx = self.subscribe();
        rx._registration = Some(self.shared.consumers.register(id, rx.dropped.clone()));
        rx
    }

    /// The registry of registered subscribers.
    pub fn consumers(&self) -> &Consumers {
        &self.shared.consumers
    }

    /// Frames published but not yet read by the slowest subscriber.
    pub fn depth(&self) -> usize {
        self.tx.len()
    }

    /// Frames lost by lagging subscribers since the bus was created.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Last `seq` published (0 before the first frame).
    pub fn last_seq(&self) -> u64 {
        self.shared.lock().seq
    }

    /// The bus's counters, readable after the bus is closed (shutdown report).
    pub fn counters(&self) -> BusCounters {
        BusCounters {
            shared: self.shared.clone(),
            tx: self.tx.downgrade(),
        }
    }
}

/// Read-only view of the bus counters that does not keep the bus open.
#[derive(Debug, Clone)]
pub struct BusCounters {
    shared: Arc<Shared>,
    tx: broadcast::WeakSender<Published>,
}

impl BusCounters {
    /// Last `seq` published (0 before the first frame).
    pub fn last_seq(&self) -> u64 {
        self.shared.lock().seq
    }

    /// Frames lost by lagging subscribers since the bus was created.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The last frame of each kind (each reading, health) from each
    /// sensor, oldest first: what a client that just connected asks for
    /// ("where are we now").
    pub fn latest(&self) -> Vec<Published> {
        let mut latest = self.shared.lock().latest.clone();
        latest.sort_by_key(|p| p.frame().seq);
        latest
    }

    /// Frames published but not yet read by the slowest subscriber (0 once
    /// the bus is closed).
    pub fn depth(&self) -> usize {
        self.tx.upgrade().map_or(0, |tx| tx.len())
    }

    /// The registry of registered subscribers.
    pub fn consumers(&self) -> &Consumers {
        &self.shared.consumers
    }
}

/// What a subscriber got from the bus.
#[derive(Debug, Clone)]
pub enum Received {
    /// The next frame.
    Frame(Published),
    /// The bus was closed and everything published was delivered.
    Closed,
}

/// One subscriber's view of the bus, with its own loss counter.
#[derive(Debug)]
pub struct BusReceiver {
    rx: broadcast::Receiver<Published>,
    dropped: Arc<AtomicU64>,
    shared: Arc<Shared>,
    _registration: Option<Registration>,
    /// Ends this subscription alone (a sink stopped by a reload).
    stop: Option<CancellationToken>,
}

impl BusReceiver {
    /// This receiver, ending as if the bus had closed once `stop` is
    /// cancelled: frames already queued for it are still delivered, then
    /// [`Received::Closed`]. A reload stops one sink this way while the
    /// bus and every other subscriber go on.
    pub fn stop_on(mut self, stop: CancellationToken) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Waits for the next frame, skipping (and counting) frames lost to lag.
    pub async fn recv(&mut self) -> Received {
        loop {
            let r = match &self.stop {
                None => self.rx.recv().await,
                Some(stop) if stop.is_cancelled() => match self.rx.try_recv() {
                    Ok(p) => Ok(p),
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        Err(broadcast::error::RecvError::Lagged(n))
                    }
                    Err(_) => return Received::Closed,
                },
                Some(stop) => tokio::select! {
                    biased;
                    r = self.rx.recv() => r,
                    () = stop.cancelled() => continue,
                },
            };
            match r {
                Ok(p) => return Received::Frame(p),
                Err(broadcast::error::RecvError::Lagged(n)) => self.count_lag(n),
                Err(broadcast::error::RecvError::Closed) => return Received::Closed,
            }
        }
    }

    /// The next frame if one is queued, without waiting; `None` when the
    /// queue is empty or the bus is closed.
    pub fn try_recv(&mut self) -> Option<Published> {
        loop {
            match self.rx.try_recv() {
                Ok(p) => return Some(p),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.count_lag(n),
                Err(_) => return None,
            }
        }
    }

    /// Frames this subscriber lost because it fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Frames queued for this subscriber.
    pub fn queued(&self) -> usize {
        self.rx.len()
    }

    fn count_lag(&mut self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        self.shared.dropped.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dronetel_proto::v1::{SensorHealth, SensorState};
    use prost::Message;

    fn health() -> Body {
        Body::Health(SensorHealth {
            state: SensorState::Online as i32,
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn a_stopped_receiver_gets_what_was_queued_then_closed_while_others_go_on() {
        let bus = Bus::new(8);
        let stop = CancellationToken::new();
        let mut stopped = bus.subscribe().stop_on(stop.clone());
        let mut other = bus.subscribe();
        bus.publish("a", health());
        bus.publish("a", health());
        stop.cancel();
        bus.publish("a", health());
        // Everything queued before the stop was seen is still delivered
        // (the third frame was queued too: delivered as well), then Closed.
        let mut seqs = Vec::new();
        while let Received::Frame(p) = stopped.recv().await {
            seqs.push(p.frame().seq);
        }
        assert_eq!(seqs, [1, 2, 3]);
        assert!(matches!(stopped.recv().await, Received::Closed));
        bus.publish("a", health());
        for want in 1..=4 {
            let Received::Frame(p) = other.recv().await else {
                panic!("the other subscriber was closed")
            };
            assert_eq!(p.frame().seq, want);
        }
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_up_closed_when_stopped() {
        let bus = Bus::new(8);
        let stop = CancellationToken::new();
        let mut rx = bus.subscribe().stop_on(stop.clone());
        let waiting = tokio::spawn(async move { matches!(rx.recv().await, Received::Closed) });
        // Single-threaded runtime: the yield runs the task until it waits.
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "returned with nothing published");
        stop.cancel();
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("woken by the stop");
        assert!(closed.unwrap(), "not closed by the stop");
    }

    #[test]
    fn latest_keeps_each_sensors_last_frame_of_each_kind_and_health_is_signalled() {
        use dronetel_proto::v1::{BatteryState, GpsFix};
        let gps = |lat: f64| {
            Body::Gps(GpsFix {
                latitude_deg: Some(lat),
                ..Default::default()
            })
        };
        let bus = Bus::new(4);
        let view = bus.counters();
        let signal = bus.watch_health();
        assert!(view.latest().is_empty());
        bus.publish("a", gps(1.0));
        bus.publish("a", Body::Battery(BatteryState::default()));
        bus.publish("b", gps(2.0));
        bus.publish("a", gps(3.0));
        assert!(!signal.has_changed().unwrap(), "no health frame yet");
        bus.publish("a", health());
        assert!(signal.has_changed().unwrap());
        bus.publish("a", health());
        let latest: Vec<(u64, String)> = view
            .latest()
            .iter()
            .map(|p| (p.frame().seq, p.frame().sensor.clone()))
            .collect();
        assert_eq!(
            latest,
            [
                (2, "a".to_owned()),
                (3, "b".to_owned()),
                (4, "a".to_owned()),
                (6, "a".to_owned())
            ]
        );
        let a_gps = view
            .latest()
            .into_iter()
            .find_map(|p| match &p.frame().body {
                Some(Body::Gps(f)) if p.frame().sensor == "a" => f.latitude_deg,
                _ => None,
            });
        assert_eq!(a_gps, Some(3.0));
        // A replayed frame is remembered as it was recorded.
        let mut old = view.latest().remove(1).frame().clone();
        old.seq = 99;
        bus.republish(old);
        assert_eq!(view.latest().last().map(|p| p.frame().seq), Some(99));
        // A sensor removed by a reload is forgotten, the others kept.
        bus.forget("a");
        let left: Vec<String> = view
            .latest()
            .iter()
            .map(|p| p.frame().sensor.clone())
            .collect();
        assert_eq!(left, ["b"]);
        // The signal ends with the bus.
        drop(bus);
        assert!(signal.has_changed().is_err());
    }

    #[tokio::test]
    async fn seq_counts_across_sensors_and_bytes_are_the_encoded_frame() {
        let bus = Bus::new(8);
        let mut rx = bus.subscribe();
        assert_eq!(bus.publish("a", health()), 1);
        assert_eq!(bus.publish("b", health()), 2);
        for (want_seq, want_sensor) in [(1, "a"), (2, "b")] {
            let Received::Frame(p) = rx.recv().await else {
                panic!("closed early")
            };
            assert_eq!(p.frame().seq, want_seq);
            assert_eq!(p.frame().sensor, want_sensor);
            assert!(p.frame().received_at.is_some());
            let decoded = Frame::decode_length_delimited(p.bytes().clone()).unwrap();
            assert_eq!(&decoded, p.frame());
        }
        assert_eq!(bus.last_seq(), 2);
    }

    #[tokio::test]
    async fn a_frame_is_encoded_only_once_a_subscriber_asks_for_its_bytes() {
        let bus = Bus::new(8);
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        bus.publish("gps", health());
        let (Received::Frame(pa), Received::Frame(pb)) = (a.recv().await, b.recv().await) else {
            panic!("closed early")
        };
        assert!(pa.0.encoded.get().is_none(), "encoded before anyone asked");
        let first = pa.bytes().clone();
        assert_eq!(
            pb.0.encoded.get(),
            Some(&first),
            "the other copy was not shared"
        );
    }

    #[tokio::test]
    async fn every_subscriber_shares_one_encoding() {
        let bus = Bus::new(8);
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        bus.publish("gps", health());
        let (Received::Frame(pa), Received::Frame(pb)) = (a.recv().await, b.recv().await) else {
            panic!("closed early")
        };
        // Same allocation, not two encodings of equal content.
        assert_eq!(pa.bytes().as_ptr(), pb.bytes().as_ptr());
        assert!(std::ptr::eq(pa.frame(), pb.frame()));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_loses_its_oldest_frames_counted() {
        let bus = Bus::new(4);
        let mut slow = bus.subscribe();
        let mut fast = bus.subscribe();
        for i in 1..=10u64 {
            assert_eq!(bus.publish("gps", health()), i);
            let Received::Frame(p) = fast.recv().await else {
                panic!("closed early")
            };
            assert_eq!(p.frame().seq, i);
        }
        // The publisher never waited for `slow`; it kept the newest 4.
        let mut got = Vec::new();
        while let Some(p) = slow.try_recv() {
            got.push(p.frame().seq);
        }
        assert_eq!(got, vec![7, 8, 9, 10]);
        assert_eq!(slow.dropped(), 6);
        assert_eq!(fast.dropped(), 0);
        assert_eq!(bus.dropped(), 6);
    }

    #[tokio::test]
    async fn dropping_every_bus_clone_drains_then_closes() {
        let bus = Bus::new(8);
        let mut rx = bus.subscribe();
        let other = bus.clone();
        bus.publish("gps", health());
        other.publish("gps", health());
        drop(bus);
        drop(other);
        assert!(matches!(rx.recv().await, Received::Frame(p) if p.frame().seq == 1));
        assert!(matches!(rx.recv().await, Received::Frame(p) if p.frame().seq == 2));
        assert!(matches!(rx.recv().await, Received::Closed));
    }
}
