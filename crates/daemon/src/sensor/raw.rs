//! [`RawTap`]: the bytes sensors read, as read, for the few sinks that
//! forward input unchanged (gpsd's `?WATCH={"nmea":true}`, `gpspipe -r`).
//! One tap serves every sensor: each sensor task holds a clone and hands
//! it each chunk it reads; while nobody listens that costs one atomic
//! load per read and no copy. A listener that falls behind loses its
//! oldest chunks (counted), never slowing a sensor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::broadcast;

/// Chunks kept per listener before its oldest are lost.
const QUEUE: usize = 256;

/// One chunk a sensor read.
#[derive(Debug, Clone)]
pub struct RawChunk {
    /// The sensor (`Frame.sensor` of its readings).
    pub sensor: Arc<str>,
    /// The bytes, as read.
    pub bytes: Bytes,
}

/// The daemon's tap on its sensors' input. Clones share it.
#[derive(Debug, Clone)]
pub struct RawTap {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    listeners: AtomicUsize,
    tx: broadcast::Sender<RawChunk>,
}

impl Default for RawTap {
    fn default() -> Self {
        Self {
            shared: Arc::new(Shared {
                listeners: AtomicUsize::new(0),
                tx: broadcast::channel(QUEUE).0,
            }),
        }
    }
}

impl RawTap {
    /// True while someone listens: only then is a chunk copied.
    pub fn wanted(&self) -> bool {
        self.shared.listeners.load(Ordering::Relaxed) > 0
    }

    /// Hands `bytes` read by `sensor` to the listeners, if any.
    pub fn send(&self, sensor: &Arc<str>, bytes: &[u8]) {
        if self.wanted() && !bytes.is_empty() {
            let _ = self.shared.tx.send(RawChunk {
                sensor: sensor.clone(),
                bytes: Bytes::copy_from_slice(bytes),
            });
        }
    }

    /// A listener of every chunk read from now on.
    pub fn listen(&self) -> RawListener {
        self.shared.listeners.fetch_add(1, Ordering::Relaxed);
        RawListener {
            rx: self.shared.tx.subscribe(),
            shared: self.shared.clone(),
            lost: 0,
        }
    }
}

/// One listener; sensors stop copying once the last one is dropped.
#[derive(Debug)]
pub struct RawListener {
    rx: broadcast::Receiver<RawChunk>,
    shared: Arc<Shared>,
    lost: u64,
}

impl RawListener {
    /// The next chunk. Pends forever when no sensor sends (the tap lives as
    /// long as the daemon).
    pub async fn recv(&mut self) -> RawChunk {
        loop {
            match self.rx.recv().await {
                Ok(c) => return c,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.lost += n;
                }
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Chunks lost because this listener fell behind.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

impl Drop for RawListener {
    fn drop(&mut self) {
        self.shared.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_reach_listeners_only_while_they_listen() {
        let tap = RawTap::default();
        let gps: Arc<str> = Arc::from("gps");
        assert!(!tap.wanted());
        tap.send(&gps, b"lost: nobody listens");
        let mut l = tap.listen();
        assert!(tap.wanted());
        tap.send(&gps, b"$GPGGA");
        let c = l.recv().await;
        assert_eq!((&*c.sensor, &c.bytes[..]), ("gps", &b"$GPGGA"[..]));
        drop(l);
        assert!(!tap.wanted());
    }

    #[tokio::test]
    async fn a_slow_listener_loses_its_oldest_chunks_counted() {
        let tap = RawTap::default();
        let gps: Arc<str> = Arc::from("gps");
        let mut l = tap.listen();
        for i in 0..QUEUE + 10 {
            tap.send(&gps, format!("{i}").as_bytes());
        }
        let first = l.recv().await;
        assert_eq!(&first.bytes[..], b"10");
        assert_eq!(l.lost(), 10);
    }
}
