//! Acceptance of the MQTT sink against a real broker (mosquitto, installed
//! by the test with apt-get when missing): frames arrive on the documented
//! topics; the broker is stopped for 10 s and restarted — frames produced
//! meanwhile (up to the queue bound) arrive afterwards, drops are counted,
//! and the sensor never stalled (checked on a stream client).
#![allow(clippy::unwrap_used, missing_docs)]

mod mqtt_common;
mod outputs_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dronetel::selection::Kind;
use dronetel::sink::SinkStats;
use dronetel_proto::v1::{frame::Body, SensorState};
use mqtt_common::{start_broker, stop_broker, subscriber, Msg};
use outputs_common::{free_port, Client, InProc, DEADLINE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_reach_the_broker_and_survive_a_10_s_outage_up_to_the_bound() {
    let bin = tokio::task::spawn_blocking(mqtt_common::mosquitto)
        .await
        .unwrap();
    let broker_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = start_broker(&bin, broker_dir.path(), port, "");
    let mut sub = subscriber(port, "dronetel-test-sub", false, "dronetel/v1/#");
    const BOUND: usize = 30;
    let extra = format!("[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\nqueue = {BOUND}\n");
    let h = InProc::start("mqtt", 10.0, &extra).await;
    let mut stream = Client::connect(h.tcp(), None).await;

    // Frames on the documented topics, payload = the frame.
    let mut topics: BTreeMap<String, usize> = BTreeMap::new();
    let t0 = Instant::now();
    while topics.len() < 2 || topics.values().any(|n| *n < 3) {
        assert!(t0.elapsed() < DEADLINE, "topics so far {topics:?}");
        let Msg {
            topic, frame: f, ..
        } = tokio::time::timeout(DEADLINE, sub.recv())
            .await
            .unwrap()
            .unwrap();
        if topic == "dronetel/v1/status" {
            continue;
        }
        let kind = Kind::of(&f).unwrap();
        assert_eq!(topic, format!("dronetel/v1/{}/{kind}", f.sensor));
        *topics.entry(topic).or_default() += 1;
    }
    assert!(
        topics.contains_key("dronetel/v1/gps0/gps")
            && topics.contains_key("dronetel/v1/gps0/health")
    );

    // Broker down for 10 s; the sensor keeps going on the stream meanwhile.
    let mut last = 0;
    while let Ok(Some(f)) = tokio::time::timeout(Duration::from_millis(50), stream.next()).await {
        last = f.seq;
    }
    stop_broker(broker);
    let stopped_after = last;
    let outage = Instant::now();
    let (mut gps, mut online) = (0, true);
    while outage.elapsed() < Duration::from_secs(10) {
        let f = stream.next().await.unwrap();
        assert!(f.seq > last, "seq went back");
        last = f.seq;
        match &f.body {
            Some(Body::Gps(_)) => gps += 1,
            Some(Body::Health(hh)) => online &= hh.state == SensorState::Online as i32,
            _ => {}
        }
    }
    let restarted_at = last;
    assert!(
        gps >= 80,
        "the sensor stalled during the outage: {gps} gps frames in 10 s"
    );
    assert!(online, "health left ONLINE during the outage");
    let broker = start_broker(&bin, broker_dir.path(), port, "");

    // Frames queued while the broker was unreachable (the outage and the
    // reconnect backoff after it) arrive afterwards, up to the bound.
    let end = restarted_at + 40;
    let mut outage_seqs = std::collections::BTreeSet::new();
    let t0 = Instant::now();
    loop {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no frames after the restart"
        );
        let Msg {
            topic, frame: f, ..
        } = tokio::time::timeout(Duration::from_secs(30), sub.recv())
            .await
            .unwrap()
            .unwrap();
        if topic == "dronetel/v1/status" {
            continue;
        }
        if f.seq > stopped_after && f.seq <= end {
            outage_seqs.insert(f.seq);
        }
        if f.seq >= end {
            break;
        }
    }
    let stats = h.daemon.sinks().get("mqtt").unwrap().stats().clone();
    let dropped = SinkStats::get(&stats.dropped);
    let produced = end - stopped_after;
    let during = outage_seqs.iter().filter(|s| **s <= restarted_at).count();
    eprintln!(
        "mqtt outage 10 s: {produced} frames from the stop to seq {end}, {} of them delivered ({during} produced during the 10 s), {dropped} dropped (bound {BOUND}), {gps} gps frames streamed meanwhile",
        outage_seqs.len()
    );
    assert!(
        outage_seqs.len() >= BOUND,
        "only {} outage frames arrived",
        outage_seqs.len()
    );
    assert!(dropped >= 1, "drops over the bound are counted");
    assert!(
        outage_seqs.len() as u64 + dropped + 5 >= produced,
        "{} delivered + {dropped} dropped of {produced}",
        outage_seqs.len()
    );
    h.daemon.shutdown().await;
    stop_broker(broker);
}

/// Health is published retained, so a subscriber that arrives late learns
/// each sensor's state and the vehicle's status at once; when the daemon
/// dies without a goodbye (SIGKILL), the broker publishes its last will:
/// the vehicle's status DISCONNECTED "offline".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_retained_and_the_last_will_reports_a_crash() {
    let bin = tokio::task::spawn_blocking(mqtt_common::mosquitto)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = start_broker(&bin, dir.path(), port, "");
    let mut opts = firmware_sim::SimOptions::new(dir.path().join("dev"));
    opts.gps_rate_hz = 10.0;
    let sim = firmware_sim::Simulator::start(opts).await.unwrap();
    let text = outputs_common::config_text(
        &sim.gps().link(),
        &format!("[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\n"),
    );
    let cfg = dir.path().join("d.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", "run", "--config"])
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // Wait for the sensor's health and some fixes on a first subscriber.
    let mut sub = subscriber(port, "will-sub", true, "dronetel/v1/#");
    let t0 = Instant::now();
    let (mut health, mut gps) = (false, 0);
    while !health || gps < 3 {
        assert!(t0.elapsed() < DEADLINE, "health {health}, {gps} fixes");
        let m = tokio::time::timeout(DEADLINE, sub.recv())
            .await
            .unwrap()
            .unwrap();
        health |= m.topic == "dronetel/v1/gps0/health";
        gps += usize::from(m.topic == "dronetel/v1/gps0/gps");
    }

    // A late subscriber gets the retained health and status first thing.
    let mut late = subscriber(port, "late-sub", true, "dronetel/v1/#");
    let mut retained = BTreeMap::new();
    let t0 = Instant::now();
    while retained.len() < 2 {
        assert!(t0.elapsed() < DEADLINE, "retained so far {retained:?}");
        let m = tokio::time::timeout(DEADLINE, late.recv())
            .await
            .unwrap()
            .unwrap();
        if m.retain {
            let Some(Body::Health(h)) = m.frame.body else {
                panic!("retained non-health frame on {}", m.topic)
            };
            retained.insert(m.topic, h.state);
        }
    }
    assert_eq!(
        retained.get("dronetel/v1/status"),
        Some(&(SensorState::Online as i32))
    );
    assert_eq!(
        retained.get("dronetel/v1/gps0/health"),
        Some(&(SensorState::Online as i32))
    );

    // SIGKILL: no DISCONNECT packet, so the broker sends the will.
    let killed = Instant::now();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    loop {
        assert!(killed.elapsed() < DEADLINE, "no last will");
        let m = tokio::time::timeout(DEADLINE, sub.recv())
            .await
            .unwrap()
            .unwrap();
        if m.topic != "dronetel/v1/status" {
            continue;
        }
        let Some(Body::Health(h)) = m.frame.body else {
            panic!("status is a health frame")
        };
        if h.state == SensorState::Disconnected as i32 {
            assert_eq!(h.last_error, "offline");
            eprintln!(
                "last will: status DISCONNECTED \"offline\" {:?} after SIGKILL; retained on a late subscriber: {retained:?}",
                killed.elapsed()
            );
            break;
        }
    }
    stop_broker(broker);
}
