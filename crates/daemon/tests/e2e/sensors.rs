//! End-to-end acceptance of the flight-controller and tracker sensors:
//! firmware-sim's three devices on real pseudo-terminals → the `dronetel`
//! binary → a stream client, compared with the simulator's truth; and the
//! foundation's stall, unplug and shutdown checks for every sensor kind.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dronetel_proto::tracker::TrackerObject;
use dronetel_proto::v1::{frame::Body, BatterySource, BatteryState, SensorState, TrackedObject};
use dronetel_testkit::frames::health_state;
use dronetel_testkit::harness::{Harness, Kind, Setup, Stopped};
use dronetel_testkit::DEADLINE;

use crate::{millis, DRONETEL};

/// Polls `f` until it gives a value (the simulator records its truth on
/// its own task, which may trail the daemon on a loaded machine).
async fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if t0.elapsed() > Duration::from_secs(2) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A wire object as the stream must carry it (f32 → f64 exactly).
fn expected(o: &TrackerObject) -> TrackedObject {
    TrackedObject {
        track_id: o.track_id,
        label: o.label.clone(),
        confidence: f64::from(o.confidence),
        bbox_x: f64::from(o.x),
        bbox_y: f64::from(o.y),
        bbox_w: f64::from(o.w),
        bbox_h: f64::from(o.h),
        range_m: o.range_m.map(f64::from),
        bearing_deg: o.bearing_deg.map(f64::from),
        elevation_deg: o.elevation_deg.map(f64::from),
        velocity_x_mps: o.velocity.as_ref().map(|v| f64::from(v.x)),
        velocity_y_mps: o.velocity.as_ref().map(|v| f64::from(v.y)),
        velocity_z_mps: o.velocity.as_ref().map(|v| f64::from(v.z)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sensors_deliver_the_simulators_truth() {
    let h = Harness::start(
        DRONETEL,
        "three",
        Setup {
            sensors: Kind::ALL,
            // In the circuit: the vehicle moves, the battery works hard.
            flight_offset: Duration::from_secs(60),
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    // Battery frames must be the simulator's battery states, in order.
    let mut next_battery = 0usize;
    let (mut sys_status, mut battery_status) = (0, 0);
    // Tracking frames: object lists equal the report of the same frame.
    let (mut tracking, mut objects, mut worst_latency) = (0, 0, Duration::ZERO);
    // GPS from both links, by fix time.
    let mut nmea: HashMap<i64, (f64, f64, f64)> = HashMap::new();
    let mut mavlink: HashMap<i64, (f64, f64, f64)> = HashMap::new();
    let (mut pairs, mut worst_deg, mut worst_alt) = (0, 0f64, 0f64);
    let mut first_pair: Option<(f64, f64)> = None;
    let mut moved_deg = 0f64;
    let t0 = Instant::now();
    while battery_status < 3 || sys_status < 6 || tracking < 90 || objects == 0 || pairs < 10 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "not enough: {battery_status} BATTERY_STATUS, {sys_status} SYS_STATUS, {tracking} tracking ({objects} objects), {pairs} GPS pairs"
        );
        let f = client.next().await.expect("stream open");
        match (f.sensor.as_str(), f.body) {
            ("fc", Some(Body::Battery(b))) => {
                let found: Option<usize> = eventually(|| {
                    let truth = h.fc_truth.lock().unwrap();
                    let all: Vec<&BatteryState> = truth.iter().flat_map(|t| &t.battery).collect();
                    all.iter()
                        .skip(next_battery)
                        .position(|t| **t == b)
                        .map(|i| next_battery + i)
                })
                .await;
                let Some(i) = found else {
                    panic!("battery frame {b:?} is not among the simulator's states after #{next_battery}")
                };
                next_battery = i + 1;
                if b.source == BatterySource::SysStatus as i32 {
                    sys_status += 1;
                } else {
                    assert_eq!(b.cell_voltages_v.len(), 4, "4S pack: {b:?}");
                    battery_status += 1;
                }
            }
            ("fc", Some(Body::Gps(g))) if g.cycle_end == "GPS_RAW_INT" => {
                let ms = millis(g.time.as_ref().expect("GPS_RAW_INT carries UTC"));
                let v = (
                    g.latitude_deg.unwrap(),
                    g.longitude_deg.unwrap(),
                    g.altitude_msl_m.unwrap(),
                );
                mavlink.insert(ms, v);
            }
            ("gps", Some(Body::Gps(g))) if g.latitude_deg.is_some() => {
                let ms = millis(g.time.as_ref().unwrap());
                let v = (
                    g.latitude_deg.unwrap(),
                    g.longitude_deg.unwrap(),
                    g.altitude_msl_m.unwrap(),
                );
                nmea.insert(ms, v);
            }
            ("tracker", Some(Body::Tracking(u))) => {
                let frame = u32::try_from(u.sensor_frame).unwrap();
                let Some(report) =
                    eventually(|| h.tracker_truth.lock().unwrap().get(&frame).cloned()).await
                else {
                    panic!("tracking frame {frame} has no simulator truth")
                };
                assert_eq!(u.sensor_time_us, report.timestamp_us);
                let want: Vec<TrackedObject> = report.objects.iter().map(expected).collect();
                assert_eq!(u.objects, want, "frame {frame}");
                objects += want.len();
                let latency = u.latency.expect("latency estimated");
                let latency = Duration::new(latency.seconds as u64, latency.nanos as u32);
                worst_latency = worst_latency.max(latency);
                tracking += 1;
            }
            _ => {}
        }
        let common: Vec<i64> = mavlink
            .keys()
            .filter(|k| nmea.contains_key(k))
            .copied()
            .collect();
        for ms in common {
            let (a, b) = (nmea.remove(&ms).unwrap(), mavlink.remove(&ms).unwrap());
            // NMEA carries 7 decimals of minutes, MAVLink 1e-7 degrees:
            // both round the same model position.
            let deg = (a.0 - b.0).abs().max((a.1 - b.1).abs());
            let alt = (a.2 - b.2).abs();
            assert!(
                deg <= 1.0e-7 && alt <= 0.002,
                "GPS {a:?} vs flight controller {b:?} at {ms}"
            );
            worst_deg = worst_deg.max(deg);
            let p0 = *first_pair.get_or_insert((a.0, a.1));
            moved_deg = moved_deg.max((a.0 - p0.0).abs().max((a.1 - p0.1).abs()));
            worst_alt = worst_alt.max(alt);
            pairs += 1;
        }
    }
    eprintln!(
        "matched {battery_status} BATTERY_STATUS + {sys_status} SYS_STATUS frames to the truth in order; \
         {tracking} tracking frames ({objects} objects) equal to the reports, worst latency estimate {worst_latency:?}; \
         {pairs} GPS pairs over {moved_deg:e} deg of flight, worst difference {worst_deg:e} deg / {worst_alt} m"
    );
    assert!(
        worst_latency < Duration::from_secs(1),
        "latency {worst_latency:?}"
    );
    // The pairs were compared in flight (1e-5 deg is about a metre).
    assert!(
        moved_deg > 2e-5,
        "the vehicle did not move: {moved_deg:e} deg"
    );
    // Read-only by default: the daemon never wrote to the flight controller.
    assert_eq!(h.sim.fc().stats().bytes_received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_rate_requests_reach_the_flight_controller_when_switched_on() {
    let h = Harness::start(
        DRONETEL,
        "rates",
        Setup {
            sensors: &[Kind::Fc],
            fc_options: "request_message_rates = true",
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    client
        .until("a heartbeat", |f| matches!(f.body, Some(Body::Vehicle(_))))
        .await;
    // Four COMMAND_LONG(SET_MESSAGE_INTERVAL) frames, MAVLink 2: 12
    // header/CRC bytes and a few payload bytes each.
    let t0 = Instant::now();
    while h.sim.fc().stats().bytes_received < 4 * 16 {
        assert!(
            t0.elapsed() < DEADLINE,
            "no requests written: {:?}",
            h.sim.fc().stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "flight controller received {} bytes of requests",
        h.sim.fc().stats().bytes_received
    );
}

/// The foundation's stall, unplug and shutdown checks on one sensor kind;
/// returns the measured times.
async fn stall_unplug_shutdown(kind: Kind) -> String {
    let only: &'static [Kind] = match kind {
        Kind::Gps => &[Kind::Gps],
        Kind::Fc => &[Kind::Fc],
        Kind::Tracker => &[Kind::Tracker],
    };
    let mut h = Harness::start(
        DRONETEL,
        &format!("kind-{}", kind.name()),
        Setup {
            sensors: only,
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    let state_of = |f: &dronetel_proto::v1::Frame| {
        (f.sensor == kind.name()).then(|| health_state(f)).flatten()
    };
    client
        .until("a first reading", |f| kind.is_reading(f))
        .await;
    client
        .until("ONLINE", |f| state_of(f) == Some(SensorState::Online))
        .await;

    // Stall: STALE within stale_after (1 s) plus margin, ONLINE on resume.
    h.device(kind).set_stalled(true);
    let stalled = Instant::now();
    client
        .until("STALE", |f| state_of(f) == Some(SensorState::Stale))
        .await;
    let stale_took = stalled.elapsed();
    assert!(
        stale_took <= Duration::from_millis(1500),
        "{kind:?}: STALE took {stale_took:?}"
    );
    h.device(kind).set_stalled(false);
    client
        .until("ONLINE again", |f| state_of(f) == Some(SensorState::Online))
        .await;

    // Unplug: DISCONNECTED with a cause; readings resume within 1 s of replug.
    h.device(kind).unplug().await;
    let f = client
        .until("DISCONNECTED", |f| {
            state_of(f) == Some(SensorState::Disconnected)
        })
        .await;
    let Some(Body::Health(health)) = f.body else {
        unreachable!()
    };
    assert!(
        !health.last_error.is_empty(),
        "{kind:?}: DISCONNECTED names a cause"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.device(kind).replug().await;
    let back = Instant::now();
    client
        .until("a reading after replug", |f| kind.is_reading(f))
        .await;
    let replug_took = back.elapsed();
    assert!(
        replug_took <= Duration::from_secs(1),
        "{kind:?}: readings resumed after {replug_took:?}"
    );

    // Shutdown: SIGTERM drains the client, exits 0 within the grace.
    let last_read = client.until("a reading", |f| kind.is_reading(f)).await;
    let Stopped {
        status,
        took: shutdown_took,
        seqs,
    } = h.sigterm_and_drain(&mut client, last_read.seq).await;
    assert!(
        status.success(),
        "{kind:?}: exit {status}: {}",
        h.log_text()
    );
    assert!(
        shutdown_took <= Duration::from_secs(3),
        "{kind:?}: shutdown took {shutdown_took:?}"
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "{kind:?}: gap in {seqs:?}"
    );
    assert!(!h.unix.exists(), "{kind:?}: socket file left behind");
    format!("{kind:?}: STALE after {stale_took:?}, readings {replug_took:?} after replug, exit 0 {shutdown_took:?} after SIGTERM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_unplug_and_shutdown_for_every_sensor_kind() {
    let results =
        futures_util::future::join_all(Kind::ALL.iter().map(|&k| stall_unplug_shutdown(k))).await;
    for r in results {
        eprintln!("{r}");
    }
}
