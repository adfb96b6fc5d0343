//! Who reads the bus: a registry of live bus subscribers (stream clients,
//! sinks, in-process readers) with each one's loss counter, so metrics can
//! report per-client and per-sink drops and the status line can count
//! clients. A subscriber registers when it subscribes and leaves when its
//! receiver is dropped; what it lost stays in its sink's total.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// What kind of consumer a subscriber is, for the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerId {
    /// The sink it belongs to (`stream`, `mqtt`, ...; `internal` for the
    /// daemon's own readers).
    pub sink: String,
    /// The client's peer (`tcp:127.0.0.1:50000`, `unix#3`) for per-client
    /// consumers; `None` for a sink that reads the bus itself.
    pub peer: Option<String>,
}

/// One live consumer as a snapshot reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStat {
    /// Who it is.
    pub id: ConsumerId,
    /// Frames it lost because it fell behind.
    pub dropped: u64,
}

/// A point-in-time copy of the registry.
#[derive(Debug, Clone, Default)]
pub struct ConsumersSnapshot {
    /// Live consumers in registration order.
    pub live: Vec<ConsumerStat>,
    /// Frames lost per sink since start (live and departed consumers).
    pub sink_dropped: BTreeMap<String, u64>,
    /// Clients disconnected per sink for being too slow (lagging too far or
    /// not reading), since start.
    pub slow_disconnects: BTreeMap<String, u64>,
}

impl ConsumersSnapshot {
    /// Live per-client consumers (those with a peer).
    pub fn clients(&self) -> usize {
        self.live.iter().filter(|c| c.id.peer.is_some()).count()
    }
}

/// The registry, shared by the bus and everyone who reports on it.
#[derive(Debug, Clone)]
pub struct Consumers {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<watch::Sender<u64>>,
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    live: BTreeMap<u64, (ConsumerId, Arc<AtomicU64>)>,
    departed_dropped: BTreeMap<String, u64>,
    slow_disconnects: BTreeMap<String, u64>,
}

impl Default for Consumers {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        }
    }
}

impl Consumers {
    /// Registers a consumer whose losses are counted in `dropped`; it stays
    /// registered until the returned guard is dropped.
    pub(crate) fn register(&self, id: ConsumerId, dropped: Arc<AtomicU64>) -> Registration {
        let key = {
            let mut inner = self.lock();
            inner.next += 1;
            let key = inner.next;
            inner.departed_dropped.entry(id.sink.clone()).or_insert(0);
            inner.live.insert(key, (id, dropped));
            key
        };
        self.changed.send_modify(|n| *n += 1);
        Registration {
            consumers: self.clone(),
            key,
        }
    }

    /// The current consumers and per-sink loss totals.
    pub fn snapshot(&self) -> ConsumersSnapshot {
        let inner = self.lock();
        let mut sink_dropped = inner.departed_dropped.clone();
        let live = inner
            .live
            .values()
            .map(|(id, d)| {
                let dropped = d.load(Ordering::Relaxed);
                *sink_dropped.entry(id.sink.clone()).or_insert(0) += dropped;
                ConsumerStat {
                    id: id.clone(),
                    dropped,
                }
            })
            .collect();
        ConsumersSnapshot {
            live,
            sink_dropped,
            slow_disconnects: inner.slow_disconnects.clone(),
        }
    }

    /// Counts a client of `sink` disconnected for being too slow.
    pub fn count_slow_disconnect(&self, sink: &str) {
        *self
            .lock()
            .slow_disconnects
            .entry(sink.to_owned())
            .or_insert(0) += 1;
    }

    /// Changes each time a consumer comes or goes.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Keeps one consumer registered; dropping it moves the consumer's losses
/// into its sink's total and removes it.
#[derive(Debug)]
pub(crate) struct Registration {
    consumers: Consumers,
    key: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        {
            let mut inner = self.consumers.lock();
            if let Some((id, d)) = inner.live.remove(&self.key) {
                *inner.departed_dropped.entry(id.sink).or_insert(0) += d.load(Ordering::Relaxed);
            }
        }
        self.consumers.changed.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn departed_consumers_keep_their_losses_in_the_sink_total() {
        let c = Consumers::default();
        let mut w = c.watch();
        let d1 = Arc::new(AtomicU64::new(0));
        let id = |peer: Option<&str>| ConsumerId {
            sink: "stream".into(),
            peer: peer.map(Into::into),
        };
        let r1 = c.register(id(Some("unix#1")), d1.clone());
        let _r2 = c.register(id(None), Arc::default());
        assert!(w.has_changed().expect("open"));
        w.mark_unchanged();
        d1.store(5, Ordering::Relaxed);
        let s = c.snapshot();
        assert_eq!((s.clients(), s.live.len()), (1, 2));
        assert_eq!(s.sink_dropped["stream"], 5);
        drop(r1);
        assert!(w.has_changed().expect("open"));
        let s = c.snapshot();
        assert_eq!((s.clients(), s.sink_dropped["stream"]), (0, 5));
        assert!(s.slow_disconnects.is_empty());
        c.count_slow_disconnect("stream");
        assert_eq!(c.snapshot().slow_disconnects["stream"], 1);
    }
}
