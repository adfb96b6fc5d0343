//! The sensor task on a real pseudo-terminal from firmware-sim, opened with
//! tokio-serial like a real receiver: ONLINE with fixes equal to the truth
//! sent, DISCONNECTED on unplug and back within a second of replug, STALE on
//! a stall and ONLINE again. Assertions are on the frames of the bus.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use dronetel::sensor::protocol::nmea::{Nmea, NmeaConfig};
use dronetel::sensor::protocol::ProtocolConfig;
use dronetel::sensor::transport::{SerialConfig, TransportConfig};
use dronetel::sensor::{SensorConfig, SensorKind};
use dronetel::{Bus, BusReceiver, Received, TaskContext};
use dronetel_proto::v1::{frame::Body, GpsFix, SensorHealth, SensorState};
use firmware_sim::{SimOptions, Simulator};

const DEADLINE: Duration = Duration::from_secs(10);
const STALE_AFTER: Duration = Duration::from_secs(1);

struct Rig {
    sim: Simulator,
    rx: BusReceiver,
    ctx: TaskContext,
    _dir: tempfile::TempDir,
}

async fn start() -> Rig {
    let dir = tempfile::Builder::new()
        .prefix("dronetel-test")
        .tempdir()
        .unwrap();
    let mut opts = SimOptions::new(dir.path());
    opts.gps_rate_hz = 10.0;
    let sim = Simulator::start(opts).await.unwrap();
    let bus = Bus::new(1024);
    let rx = bus.subscribe();
    let ctx = TaskContext::new();
    let sensor = SensorConfig {
        name: "gps".into(),
        kind: SensorKind::Gps,
        protocol: ProtocolConfig::new::<Nmea>(NmeaConfig {
            require_checksum: true,
            idle_gap: None,
        }),
        transport: TransportConfig::Serial(SerialConfig {
            path: sim.gps().link(),
            baud: 115_200,
        }),
        stale_after: STALE_AFTER,
    };
    dronetel::sensor::spawn_configured(
        &ctx,
        &bus,
        &sensor,
        Duration::from_secs(1),
        dronetel::sensor::HostClock::default(),
        &dronetel::sensor::raw::RawTap::default(),
    );
    Rig {
        sim,
        rx,
        ctx,
        _dir: dir,
    }
}

impl Rig {
    /// Frames until `pick` returns something, within the deadline.
    async fn until<T>(&mut self, mut pick: impl FnMut(&Body) -> Option<T>) -> T {
        tokio::time::timeout(DEADLINE, async {
            loop {
                match self.rx.recv().await {
                    Received::Frame(p) => {
                        assert_eq!(p.frame().sensor, "gps");
                        if let Some(t) = p.frame().body.as_ref().and_then(&mut pick) {
                            return t;
                        }
                    }
                    Received::Closed => panic!("bus closed"),
                }
            }
        })
        .await
        .expect("not within the deadline")
    }

    async fn state(&mut self, state: SensorState) -> SensorHealth {
        self.until(|b| match b {
            Body::Health(h) if h.state == state as i32 => Some(h.clone()),
            _ => None,
        })
        .await
    }

    async fn fix(&mut self) -> GpsFix {
        self.until(|b| match b {
            Body::Gps(f) => Some(f.clone()),
            _ => None,
        })
        .await
    }

    async fn stop(self) {
        self.ctx.token.cancel();
        self.ctx.tracker.close();
        tokio::time::timeout(DEADLINE, self.ctx.tracker.wait())
            .await
            .unwrap();
        self.sim.stop().await;
    }
}

fn link(rig: &Rig) -> PathBuf {
    rig.sim.gps().link()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_with_fixes_equal_to_the_truth() {
    let mut rig = start().await;
    let mut truth = rig.sim.gps().subscribe_truth();
    let h = rig.state(SensorState::Online).await;
    assert_eq!(h.device, link(&rig).display().to_string());
    for _ in 0..5 {
        let fix = rig.fix().await;
        let sent = loop {
            let t = tokio::time::timeout(DEADLINE, truth.recv())
                .await
                .unwrap()
                .unwrap();
            if t.fix.time == fix.time {
                break t.fix;
            }
        };
        let (lat, lon) = (fix.latitude_deg.unwrap(), fix.longitude_deg.unwrap());
        assert!((lat - sent.latitude_deg.unwrap()).abs() < 1e-7);
        assert!((lon - sent.longitude_deg.unwrap()).abs() < 1e-7);
    }
    let h = rig.state(SensorState::Online).await;
    assert!(h.messages_ok > 0 && h.bytes_read > 0 && h.readings_published >= 5);
    assert_eq!(h.checksum_errors, 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_is_disconnected_and_replug_is_back_within_a_second() {
    let mut rig = start().await;
    rig.state(SensorState::Online).await;
    rig.sim.gps().unplug().await;
    let h = rig.state(SensorState::Disconnected).await;
    assert!(!h.last_error.is_empty());
    // Stay unplugged long enough for the backoff to reach its cap.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    rig.sim.gps().replug().await;
    let replugged = Instant::now();
    let h = rig.state(SensorState::Online).await;
    rig.fix().await;
    let back = replugged.elapsed();
    eprintln!("fixes resumed {back:?} after replug");
    assert!(
        back < Duration::from_secs(1),
        "fixes resumed after {back:?}"
    );
    assert_eq!(h.reopen_count, 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_stale_within_stale_after_and_online_when_data_resumes() {
    let mut rig = start().await;
    rig.state(SensorState::Online).await;
    rig.sim.gps().set_stalled(true);
    let stalled = Instant::now();
    let h = rig.state(SensorState::Stale).await;
    let took = stalled.elapsed();
    eprintln!("STALE {took:?} after the stall (stale_after {STALE_AFTER:?})");
    assert!(
        took <= STALE_AFTER + Duration::from_millis(500),
        "STALE after {took:?}"
    );
    assert!(h.last_message_age.is_some());
    rig.sim.gps().set_stalled(false);
    rig.state(SensorState::Online).await;
    rig.fix().await;
    rig.stop().await;
}
