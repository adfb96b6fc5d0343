//! Per-consumer rate control shared by every sink and stream client: a
//! sensor/kind filter and a maximum rate per kind (decimation, latest value
//! wins). A value held back by the rate limit is sent by a timer when its
//! slot opens, so the last value of a burst is never stuck.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::bus::{BusReceiver, Published, Received};
use crate::selection::{Kind, Selection};

/// One (sensor, kind) slot of the decimator.
#[derive(Debug)]
struct Slot {
    interval: Duration,
    /// Earliest time the next frame may go out.
    next: Instant,
    /// Latest frame held back, sent when `next` comes.
    held: Option<Published>,
}

/// Counters of one rate-controlled consumer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateStats {
    /// Frames not wanted by the filter.
    pub filtered: u64,
    /// Frames replaced by a newer one before their slot opened.
    pub decimated: u64,
}

/// A bus receiver seen through a [`Selection`]: yields only selected frames,
/// at most one per slot interval per sensor and kind, the latest winning.
#[derive(Debug)]
pub struct RateControlled {
    rx: BusReceiver,
    sel: Selection,
    slots: HashMap<(String, Kind), Slot>,
    stats: RateStats,
}

impl RateControlled {
    /// Wraps `rx` with `sel`.
    pub fn new(rx: BusReceiver, sel: Selection) -> Self {
        Self {
            rx,
            sel,
            slots: HashMap::new(),
            stats: RateStats::default(),
        }
    }

    /// Frames lost on the bus because this consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.rx.dropped()
    }

    /// The bus receiver, without the selection (and any frame held back).
    pub fn into_inner(self) -> BusReceiver {
        self.rx
    }

    /// Filter and decimation counters.
    pub fn stats(&self) -> RateStats {
        self.stats
    }

    /// The next frame to deliver. At bus close, frames still held are
    /// delivered first, then [`Received::Closed`].
    pub async fn recv(&mut self) -> Received {
        loop {
            if let Some(p) = self.due(Instant::now()) {
                return Received::Frame(p);
            }
            let wake = self.next_wake();
            let got = match wake {
                Some(at) => tokio::select! {
                    biased;
                    _ = tokio::time::sleep_until(at) => continue,
                    r = self.rx.recv() => r,
                },
                None => self.rx.recv().await,
            };
            match got {
                Received::Frame(p) => {
                    if let Some(p) = self.admit(p, Instant::now()) {
                        return Received::Frame(p);
                    }
                }
                Received::Closed => {
                    return match self.take_any_held() {
                        Some(p) => Received::Frame(p),
                        None => Received::Closed,
                    }
                }
            }
        }
    }

    /// A frame ready now, without waiting.
    pub fn try_recv(&mut self) -> Option<Published> {
        let now = Instant::now();
        if let Some(p) = self.due(now) {
            return Some(p);
        }
        while let Some(p) = self.rx.try_recv() {
            if let Some(p) = self.admit(p, now) {
                return Some(p);
            }
        }
        None
    }

    /// Filters and decimates one bus frame: `Some` when it goes out now.
    fn admit(&mut self, p: Published, now: Instant) -> Option<Published> {
        if !self.sel.wants(p.frame()) {
            self.stats.filtered += 1;
            return None;
        }
        let Some(kind) = Kind::of(p.frame()) else {
            return Some(p);
        };
        let Some(&interval) = self.sel.min_interval.get(&kind) else {
            return Some(p);
        };
        let key = (p.frame().sensor.clone(), kind);
        let slot = self.slots.entry(key).or_insert(Slot {
            interval,
            next: now,
            held: None,
        });
        if now >= slot.next && slot.held.is_none() {
            slot.next = now + slot.interval;
            Some(p)
        } else {
            if slot.held.replace(p).is_some() {
                self.stats.decimated += 1;
            }
            None
        }
    }

    /// A held frame whose slot is open at `now`.
    fn due(&mut self, now: Instant) -> Option<Published> {
        let slot = self
            .slots
            .values_mut()
            .filter(|s| s.held.is_some() && s.next <= now)
            .min_by_key(|s| s.next)?;
        slot.next = now + slot.interval;
        slot.held.take()
    }

    fn next_wake(&self) -> Option<Instant> {
        self.slots
            .values()
            .filter(|s| s.held.is_some())
            .map(|s| s.next)
            .min()
    }

    fn take_any_held(&mut self) -> Option<Published> {
        let slot = self
            .slots
            .values_mut()
            .filter(|s| s.held.is_some())
            .min_by_key(|s| s.next)?;
        slot.held.take()
    }
}

impl From<BusReceiver> for RateControlled {
    /// Everything at full rate.
    fn from(rx: BusReceiver) -> Self {
        RateControlled::new(rx, Selection::default())
    }
}

#[cfg(test)]
mod tests;
