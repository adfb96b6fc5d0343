//! [`SinkFrames`]: the bus as a sink sees it: its own receiver, filtered
//! and rate-limited by its selection, with every frame it lost to bus lag
//! added to its `dropped` counter as it goes (no sink counts that itself).

use std::sync::Arc;

use crate::bus::{BusReceiver, Published, Received};
use crate::selection::Selection;
use crate::sink::rate::RateControlled;
use crate::sink::stats::SinkStats;

/// A sink's (or one client's) view of the bus.
#[derive(Debug)]
pub struct SinkFrames {
    rx: RateControlled,
    stats: Arc<SinkStats>,
    /// Bus losses already added to `stats`.
    counted: u64,
}

impl SinkFrames {
    /// `rx` seen through `selection`, its losses counted in `stats`.
    pub fn new(rx: BusReceiver, selection: Selection, stats: Arc<SinkStats>) -> Self {
        Self {
            rx: RateControlled::new(rx, selection),
            stats,
            counted: 0,
        }
    }

    /// The same receiver through another selection (a stream client's
    /// `Subscribe`, read after it was subscribed so nothing was missed).
    pub fn select(self, selection: Selection) -> Self {
        Self {
            rx: RateControlled::new(self.rx.into_inner(), selection),
            ..self
        }
    }

    /// The next selected frame; `Closed` once the bus has closed (or the
    /// sink was stopped) and everything before was read.
    pub async fn recv(&mut self) -> Received {
        let r = self.rx.recv().await;
        self.count_lag();
        r
    }

    /// The next selected frame already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Published> {
        let r = self.rx.try_recv();
        self.count_lag();
        r
    }

    /// Frames lost on the bus because this consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.rx.dropped()
    }

    /// The counters losses go to.
    pub fn stats(&self) -> &Arc<SinkStats> {
        &self.stats
    }

    fn count_lag(&mut self) {
        let now = self.rx.dropped();
        if now > self.counted {
            SinkStats::add(&self.stats.dropped, now - self.counted);
            self.counted = now;
        }
    }
}

impl From<BusReceiver> for SinkFrames {
    /// Every frame, counted in counters of its own.
    fn from(rx: BusReceiver) -> Self {
        Self::new(rx, Selection::default(), Arc::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Bus;
    use dronetel_proto::v1::{frame::Body, SensorHealth};

    #[tokio::test]
    async fn bus_lag_reaches_the_sink_counter_once() {
        let bus = Bus::new(2);
        let stats = Arc::new(SinkStats::default());
        let mut frames = SinkFrames::new(bus.subscribe(), Selection::default(), stats.clone());
        for _ in 0..10 {
            bus.publish("gps", Body::Health(SensorHealth::default()));
        }
        drop(bus);
        let mut got = 0;
        while let Received::Frame(_) = frames.recv().await {
            got += 1;
        }
        assert_eq!(got, 2);
        assert_eq!(frames.dropped(), 8);
        assert_eq!(
            SinkStats::get(&stats.dropped),
            8,
            "counted once, not per read"
        );
    }
}
