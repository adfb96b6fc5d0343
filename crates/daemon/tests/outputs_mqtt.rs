//! Acceptance of the MQTT sink against a real broker (mosquitto, installed
//! by the test with apt-get when missing): frames arrive on the documented
//! topics; the broker is stopped for 10 s and restarted — frames produced
//! meanwhile (up to the queue bound) arrive afterwards, drops are counted,
//! and the sensor never stalled (checked on a stream client).
#![allow(clippy::unwrap_used, missing_docs)]

mod outputs_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dronetel::sink::rate::Kind;
use dronetel::sink::SinkStats;
use dronetel_proto::v1::{frame::Body, Frame, SensorState};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use outputs_common::{free_port, Client, InProc, DEADLINE};
use prost::Message;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

/// The mosquitto binary, installed through the system's package manager
/// when missing (the test needs a real broker it can stop and restart).
fn mosquitto() -> PathBuf {
    let find = || {
        [
            "/usr/sbin/mosquitto",
            "/usr/bin/mosquitto",
            "/usr/local/sbin/mosquitto",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return p;
    }
    let install = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install(&["install", "-y", "-q", "mosquitto"]) {
        install(&["update", "-q"]);
        install(&["install", "-y", "-q", "mosquitto"]);
    }
    find().expect("mosquitto is missing and `apt-get install mosquitto` failed")
}

/// A mosquitto on loopback with persistence, so the test subscriber's
/// session (and the frames queued for it) survives the restart.
fn start_broker(bin: &Path, dir: &Path, port: u16) -> Child {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nqueue_qos0_messages true\nmax_queued_messages 100000\n",
            dir.display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("mosquitto.log")).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < DEADLINE, "mosquitto did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn stop_broker(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
}

/// A persistent-session subscriber to `dronetel/v1/#` that reconnects.
fn subscriber(port: u16) -> mpsc::UnboundedReceiver<(String, Frame)> {
    let mut opts = MqttOptions::new("dronetel-test-sub", "127.0.0.1", port);
    opts.set_clean_session(false);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut el) = AsyncClient::new(opts, 16);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client
                        .subscribe("dronetel/v1/#", QoS::AtLeastOnce)
                        .await
                        .unwrap();
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let f = Frame::decode(&p.payload[..]).expect("payload is one Frame");
                    if tx.send((p.topic.clone(), f)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_reach_the_broker_and_survive_a_10_s_outage_up_to_the_bound() {
    let bin = tokio::task::spawn_blocking(mosquitto).await.unwrap();
    let broker_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = start_broker(&bin, broker_dir.path(), port);
    let mut sub = subscriber(port);
    const BOUND: usize = 30;
    let extra = format!("[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\nqueue = {BOUND}\n");
    let h = InProc::start("mqtt", 10.0, &extra).await;
    let mut stream = Client::connect(h.tcp(), None).await;

    // Frames on the documented topics, payload = the frame.
    let mut topics: BTreeMap<String, usize> = BTreeMap::new();
    let t0 = Instant::now();
    while topics.len() < 2 || topics.values().any(|n| *n < 3) {
        assert!(t0.elapsed() < DEADLINE, "topics so far {topics:?}");
        let (topic, f) = tokio::time::timeout(DEADLINE, sub.recv())
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
    let broker = start_broker(&bin, broker_dir.path(), port);

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
        let (topic, f) = tokio::time::timeout(Duration::from_secs(30), sub.recv())
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
    let stats = h.daemon.outputs().stats("mqtt").unwrap().clone();
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
