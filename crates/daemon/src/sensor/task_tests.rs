//! The sensor task's logic over in-memory ports (`tokio::io::duplex`) with
//! paused time: state machine, health frames, reopen, idle flush. The same
//! task over real ptys is tested in `tests/sensor_pty.rs`.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use dronetel_proto::v1::{frame::Body, GpsFix, SensorHealth, SensorState};
use dronetel_wire::{Reading, SensorDecoder, Stats};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

use super::{run_sensor, Opener, SensorSettings};
use crate::backoff::Backoff;
use crate::bus::{Bus, BusReceiver, Received};

/// Lines: `FIX` → a reading, `OK` → a good message without reading, `HOLD`
/// → a good message whose reading waits for the idle flush, `BAD` → a
/// reading with an impossible latitude beside a good longitude, `VOID` → a
/// reading with nothing valid, anything else → framing error.
#[derive(Default)]
struct LineDecoder {
    stats: Stats,
    held: Option<GpsFix>,
}

fn fix(lat: f64) -> GpsFix {
    GpsFix {
        latitude_deg: Some(lat),
        ..Default::default()
    }
}

impl Decoder for LineDecoder {
    type Item = Reading;
    type Error = io::Error;
    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<Reading>> {
        while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            let line = buf.split_to(nl + 1);
            self.stats.bytes += line.len() as u64;
            match &line[..nl] {
                b"FIX" => {
                    self.stats.messages_ok += 1;
                    return Ok(Some(Reading::Gps(fix(1.0))));
                }
                b"BAD" => {
                    self.stats.messages_ok += 1;
                    return Ok(Some(Reading::Gps(GpsFix {
                        longitude_deg: Some(10.0),
                        ..fix(91.0)
                    })));
                }
                b"VOID" => {
                    self.stats.messages_ok += 1;
                    return Ok(Some(Reading::Gps(fix(f64::NAN))));
                }
                b"OK" => self.stats.messages_ok += 1,
                b"HOLD" => {
                    self.stats.messages_ok += 1;
                    self.held = Some(fix(2.0));
                }
                _ => self.stats.framing_errors += 1,
            }
        }
        Ok(None)
    }
}

impl SensorDecoder for LineDecoder {
    fn stats(&self) -> Stats {
        self.stats
    }
    fn idle_gap(&self) -> Option<Duration> {
        Some(Duration::from_millis(100))
    }
    fn flush_idle(&mut self) -> Option<Reading> {
        self.held.take().map(Reading::Gps)
    }
}

/// Hands out queued ports; with none queued the device is "missing".
#[derive(Clone, Default)]
struct QueueOpener(Arc<Mutex<VecDeque<DuplexStream>>>);

impl QueueOpener {
    /// Plugs in a device: returns the far end the test writes to.
    fn plug(&self) -> DuplexStream {
        let (near, far) = tokio::io::duplex(4096);
        self.0.lock().unwrap().push_back(near);
        far
    }
}

impl Opener for QueueOpener {
    type Port = DuplexStream;
    async fn open(&self) -> io::Result<DuplexStream> {
        self.0
            .lock()
            .unwrap()
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such device"))
    }
    fn device(&self) -> String {
        "/dev/test".into()
    }
}

struct Rig {
    bus: Bus,
    rx: BusReceiver,
    token: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start(opener: QueueOpener) -> Rig {
    let bus = Bus::new(1024);
    let rx = bus.subscribe();
    let token = CancellationToken::new();
    let settings = SensorSettings {
        raw: None,
        name: "gps".into(),
        stale_after: Duration::from_secs(2),
        health_interval: Duration::from_secs(1),
        host_clock: crate::sensor::HostClock::Untrusted,
        backoff: Backoff::SENSOR,
    };
    let task = tokio::spawn(run_sensor(
        token.clone(),
        bus.clone(),
        settings,
        LineDecoder::default(),
        opener.clone(),
    ));
    Rig {
        bus,
        rx,
        token,
        task,
    }
}

impl Rig {
    /// The next frame, failing after a minute of (paused) silence.
    async fn next(&mut self) -> Body {
        let r = tokio::time::timeout(Duration::from_secs(60), self.rx.recv()).await;
        match r.expect("no frame within 60 s") {
            Received::Frame(p) => {
                assert_eq!(p.frame().sensor, "gps");
                p.frame().body.clone().unwrap()
            }
            Received::Closed => panic!("bus closed"),
        }
    }

    /// Skips frames until a health frame in `state`; returns it.
    async fn until_state(&mut self, state: SensorState) -> SensorHealth {
        loop {
            if let Body::Health(h) = self.next().await {
                if h.state == state as i32 {
                    return h;
                }
            }
        }
    }

    /// The next fix, skipping health frames.
    async fn next_fix(&mut self) -> GpsFix {
        loop {
            if let Body::Gps(f) = self.next().await {
                return f;
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn online_stale_online_with_periodic_health() {
    let opener = QueueOpener::default();
    let mut dev = opener.plug();
    let mut rig = start(opener);
    let h = rig.until_state(SensorState::Starting).await;
    assert_eq!(h.device, "/dev/test");

    dev.write_all(b"junk\nFIX\n").await.unwrap();
    let h = rig.until_state(SensorState::Online).await;
    assert_eq!((h.messages_ok, h.framing_errors, h.bytes_read), (1, 1, 9));
    assert_eq!(rig.next_fix().await.latitude_deg, Some(1.0));

    // Silence: periodic health while ONLINE, then STALE after stale_after.
    let quiet = Instant::now();
    let h = rig.until_state(SensorState::Online).await;
    assert_eq!(h.readings_published, 1);
    assert!(h.last_message_age.is_some());
    let h = rig.until_state(SensorState::Stale).await;
    let waited = quiet.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited <= Duration::from_millis(2100),
        "{waited:?}"
    );
    assert_eq!(h.last_message_age.unwrap().seconds, 2);

    // Periodic health goes on while STALE; junk alone does not revive it.
    dev.write_all(b"junk\n").await.unwrap();
    let h = rig.until_state(SensorState::Stale).await;
    assert_eq!(h.framing_errors, 2);
    dev.write_all(b"OK\n").await.unwrap();
    rig.until_state(SensorState::Online).await;
    rig.token.cancel();
    rig.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn missing_device_then_plug_unplug_replug() {
    let opener = QueueOpener::default();
    let mut rig = start(opener.clone());
    let h = rig.until_state(SensorState::Disconnected).await;
    assert!(h.last_error.contains("no such device"), "{}", h.last_error);

    // Plug: reopened within the capped backoff, STARTING until data.
    let plugged = Instant::now();
    let mut dev = opener.plug();
    let h = rig.until_state(SensorState::Starting).await;
    assert!(plugged.elapsed() <= Duration::from_millis(500));
    assert!(h.last_error.is_empty());
    assert_eq!(h.reopen_count, 0);
    dev.write_all(b"FIX\n").await.unwrap();
    rig.until_state(SensorState::Online).await;

    // Unplug (EOF), stay away for a while, replug: back within a second.
    drop(dev);
    let h = rig.until_state(SensorState::Disconnected).await;
    assert_eq!(h.last_error, "end of file");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let replugged = Instant::now();
    let mut dev = opener.plug();
    dev.write_all(b"FIX\n").await.unwrap();
    let h = rig.until_state(SensorState::Online).await;
    assert!(
        replugged.elapsed() < Duration::from_secs(1),
        "{:?}",
        replugged.elapsed()
    );
    assert_eq!(h.reopen_count, 1);
    assert_eq!(rig.next_fix().await.latitude_deg, Some(1.0));
    drop(rig.bus);
    rig.token.cancel();
    rig.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_held_reading_is_flushed_after_the_idle_gap() {
    let opener = QueueOpener::default();
    let mut dev = opener.plug();
    let mut rig = start(opener);
    dev.write_all(b"HOLD\n").await.unwrap();
    let sent = Instant::now();
    let f = rig.next_fix().await;
    assert_eq!(f.latitude_deg, Some(2.0));
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(100) && waited < Duration::from_millis(200),
        "{waited:?}"
    );
    rig.token.cancel();
    rig.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_the_task_in_every_state() {
    // While the device is missing (backoff) ...
    let rig = start(QueueOpener::default());
    tokio::time::sleep(Duration::from_millis(120)).await;
    rig.token.cancel();
    tokio::time::timeout(Duration::from_millis(10), rig.task)
        .await
        .unwrap()
        .unwrap();
    // ... and while reading.
    let opener = QueueOpener::default();
    let _dev = opener.plug();
    let mut rig = start(opener);
    rig.until_state(SensorState::Starting).await;
    rig.token.cancel();
    tokio::time::timeout(Duration::from_millis(10), rig.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_read_buffer_stays_bounded_when_the_decoder_cannot_frame() {
    let opener = QueueOpener::default();
    let mut dev = opener.plug();
    let mut rig = start(opener);
    // 70 000 bytes without a line end: more than the 64 KiB bound.
    let junk = vec![b'a'; 70_000];
    dev.write_all(&junk).await.unwrap();
    dev.write_all(b"\nFIX\n").await.unwrap();
    let h = rig.until_state(SensorState::Online).await;
    assert_eq!(h.bytes_read, 70_005);
    // One overflow discard, then the rest of the junk line.
    assert_eq!(h.framing_errors, 2);
    assert_eq!(rig.next_fix().await.latitude_deg, Some(1.0));
    rig.token.cancel();
    rig.task.await.unwrap();
}

#[test]
fn line_decoder_counts_bytes() {
    let mut d = LineDecoder::default();
    let mut b = BytesMut::from(&b"OK\nFI"[..]);
    assert!(d.decode(&mut b).unwrap().is_none());
    assert_eq!((d.stats.bytes, b.remaining()), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn invalid_values_are_left_out_and_counted() {
    let opener = QueueOpener::default();
    let mut dev = opener.plug();
    let mut rig = start(opener);
    dev.write_all(b"BAD\nVOID\nFIX\n").await.unwrap();
    let first = rig.next_fix().await;
    assert_eq!(
        (first.latitude_deg, first.longitude_deg),
        (None, Some(10.0)),
        "the impossible latitude is absent, the good longitude kept"
    );
    // The reading with nothing valid left was not published.
    assert_eq!(rig.next_fix().await.latitude_deg, Some(1.0));
    let h = rig.until_state(SensorState::Online).await;
    assert_eq!((h.invalid_values, h.readings_published), (2, 2), "{h:?}");
    rig.token.cancel();
    rig.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn periodic_health_rides_along_with_readings_and_keeps_its_cadence() {
    // Readings every 70 ms (never on a whole second): each periodic health
    // frame must leave with a reading, at most a quarter interval before it
    // is due, and the cadence must not creep earlier.
    const PERIOD: Duration = Duration::from_millis(70);
    let opener = QueueOpener::default();
    let mut dev = opener.plug();
    let mut rig = start(opener);
    rig.until_state(SensorState::Starting).await;
    let t0 = Instant::now();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(t0, PERIOD);
        for _ in 0..150 {
            tick.tick().await;
            dev.write_all(b"FIX\n").await.unwrap();
        }
        dev
    });
    let mut online_at = None;
    let mut periodic = Vec::new();
    while t0.elapsed() < Duration::from_millis(10_000) {
        if let Body::Health(h) = rig.next().await {
            let at = t0.elapsed();
            if h.state == SensorState::Online as i32 {
                match online_at {
                    None => online_at = Some(at),
                    Some(_) => periodic.push(at),
                }
            }
        }
    }
    let online_at = online_at.unwrap();
    assert_eq!(online_at, Duration::ZERO, "ONLINE with the first reading");
    assert!((9..=10).contains(&periodic.len()), "{periodic:?}");
    for (k, at) in periodic.iter().enumerate() {
        let due = online_at + Duration::from_secs(k as u64 + 1);
        let on_a_read = at.as_millis() % PERIOD.as_millis() == 0;
        assert!(
            on_a_read,
            "health frame {k} at {at:?} came on its own timer"
        );
        assert!(
            *at <= due && due - *at <= Duration::from_millis(250),
            "health frame {k} at {at:?}, due at {due:?}"
        );
    }
    let _dev = writer.await.unwrap();
    rig.token.cancel();
    rig.task.await.unwrap();
}
