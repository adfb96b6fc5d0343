//! The Foxglove WebSocket sink with clients no one here wrote: the
//! official `@foxglove/ws-protocol` npm client (installed by the test into
//! a private folder) connects before the sensors exist, sees their
//! channels advertised as they appear, subscribes to `gps/fix` and decodes
//! `foxglove.LocationFix` with protobufjs from the advertised schema alone:
//! positions equal the stream's `GpsFix` values, over both subprotocols.
//! A second client written with Python's `websockets` and `protobuf`
//! (installed by the test into a private venv) decodes the same fixes.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::foxglove_common::wait_state;
use dronetel::sink::SinkStats;
use dronetel_proto::v1::{frame::Body, SensorState};
use dronetel_testkit::client::Client;
use dronetel_testkit::in_process::subscribed_tcp_client;
use dronetel_testkit::mcap_read::ns;
use serde_json::Value;
use tokio::io::AsyncReadExt;

const DEADLINE: Duration = Duration::from_secs(30);
const CONFIG: &str = "[foxglove]\nlisten = \"127.0.0.1:0\"\nmax_clients = 8\n";

/// Runs the npm client against `url` offering `subprotocol`, until it got
/// `count` messages on `topics[0]`; returns its JSON lines.
fn node_client(
    url: &str,
    subprotocol: &str,
    count: usize,
    topics: &[&str],
) -> tokio::process::Child {
    let modules = crate::foxglove_common::node_modules();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/outputs/foxglove_common/ws_client.js"
    );
    tokio::process::Command::new("node")
        .arg(script)
        .arg(url)
        .arg(subprotocol)
        .arg(count.to_string())
        .args(topics)
        .env("NODE_PATH", &modules)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn lines_of(mut child: tokio::process::Child) -> Vec<Value> {
    let mut out = String::new();
    let mut stdout = child.stdout.take().unwrap();
    tokio::time::timeout(DEADLINE, stdout.read_to_string(&mut out))
        .await
        .expect("node client ran past the deadline")
        .unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.success(), "node client: {status}\n{out}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn poll(what: &str, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < DEADLINE, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The stream's GPS fixes of sensor `gps` by fix time, read until every
/// time of `times` was seen.
async fn stream_fixes(
    stream: &mut Client<tokio::net::TcpStream>,
    times: &[u64],
) -> HashMap<u64, (f64, f64)> {
    let mut want: HashMap<u64, (f64, f64)> = HashMap::new();
    let t0 = Instant::now();
    while !times.iter().all(|t| want.contains_key(t)) {
        assert!(
            t0.elapsed() < DEADLINE,
            "the stream never carried every fix"
        );
        let frame = stream.next().await.unwrap();
        if let (Some(Body::Gps(g)), "gps") = (&frame.body, frame.sensor.as_str()) {
            if let (Some(t), Some(lat), Some(lon)) = (&g.time, g.latitude_deg, g.longitude_deg) {
                want.insert(ns(t), (lat, lon));
            }
        }
    }
    want
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_websockets_client_decodes_the_same_fixes() {
    let python = crate::foxglove_common::python();
    let f = crate::foxglove_common::flight("py", CONFIG).await;
    let url = format!("ws://{}", f.foxglove());
    // Subscribed before the WebSocket client starts: every fix it decodes
    // is on the stream too.
    let mut stream = subscribed_tcp_client(&f.daemon, None).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/outputs/foxglove_common/ws_client.py"
    );
    let child = tokio::process::Command::new(&python)
        .args([script, &url, "foxglove.sdk.v1", "20", "gps/fix"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = lines_of(child).await;
    assert_eq!(lines[0]["protocol"], "foxglove.sdk.v1");
    let fixes: Vec<&Value> = lines.iter().filter(|l| l["event"] == "message").collect();
    assert_eq!(fixes.len(), 20);
    let times: Vec<u64> = fixes.iter().map(|l| l["time"].as_u64().unwrap()).collect();
    let want = stream_fixes(&mut stream, &times).await;
    for l in fixes {
        let (lat, lon) = want[&l["time"].as_u64().unwrap()];
        assert_eq!(
            (l["lat"].as_f64(), l["lon"].as_f64()),
            (Some(lat), Some(lon)),
            "{l}"
        );
        assert_eq!(l["frame_id"], "gps");
    }
    let report = f.daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_sees_sensors_arrive_and_decodes_location_fixes() {
    crate::foxglove_common::node_modules();
    let mut f = crate::foxglove_common::daemon_first("npm", CONFIG).await;
    let url = format!("ws://{}", f.foxglove());
    let stats = f.daemon.sinks().get("foxglove").unwrap().stats().clone();
    // Subscribed before the simulator starts: the first fixes the
    // WebSocket clients decode are on the stream too.
    let mut stream = subscribed_tcp_client(&f.daemon, None).await;
    let topics = ["gps/fix", "gps/gps", "gps/log"];
    let clients = [
        node_client(&url, "foxglove.websocket.v1", 20, &topics),
        node_client(&url, "foxglove.sdk.v1", 20, &topics),
    ];
    // Both connected before any sensor delivers.
    poll("two foxglove clients", || {
        SinkStats::get(&stats.clients) == 2
    })
    .await;
    let mut rx = f.daemon.bus().subscribe();
    f.start_sim().await;
    // Once fixes reach the clients, the receiver goes quiet for a moment:
    // STALE, then ONLINE again, in the clients' `gps/log`.
    wait_state(&mut rx, "gps", SensorState::Online).await;
    poll("fixes sent", || SinkStats::get(&stats.sent) > 0).await;
    f.sim().gps().set_stalled(true);
    wait_state(&mut rx, "gps", SensorState::Stale).await;
    f.sim().gps().set_stalled(false);

    let mut runs = Vec::new();
    for c in clients {
        runs.push(lines_of(c).await);
    }
    // The stream's fixes, by fix time.
    let fix_times: Vec<u64> = runs
        .iter()
        .flatten()
        .filter(|l| l["event"] == "message" && l["topic"] == "gps/fix")
        .map(|l| {
            let t = &l["msg"]["timestamp"];
            t["seconds"].as_str().unwrap().parse::<u64>().unwrap() * 1_000_000_000
                + t["nanos"].as_u64().unwrap()
        })
        .collect();
    let want = stream_fixes(&mut stream, &fix_times).await;

    for (lines, protocol) in runs
        .iter()
        .zip(["foxglove.websocket.v1", "foxglove.sdk.v1"])
    {
        assert_eq!(lines[0]["event"], "serverInfo", "{protocol}");
        assert_eq!(lines[0]["protocol"], protocol);
        let advertised: HashMap<&str, &str> = lines
            .iter()
            .filter(|l| l["event"] == "advertise")
            .map(|l| {
                (
                    l["topic"].as_str().unwrap(),
                    l["schemaName"].as_str().unwrap(),
                )
            })
            .collect();
        for (topic, schema) in [
            ("gps/fix", "foxglove.LocationFix"),
            ("gps/log", "foxglove.Log"),
            ("gps/gps", "dronetel.v1.Frame"),
            ("fc/fix", "foxglove.LocationFix"),
            ("fc/battery", "dronetel.v1.Frame"),
        ] {
            assert_eq!(advertised.get(topic), Some(&schema), "{protocol}: {topic}");
        }
        let fixes: Vec<&Value> = lines
            .iter()
            .filter(|l| l["event"] == "message" && l["topic"] == "gps/fix")
            .collect();
        assert_eq!(fixes.len(), 20, "{protocol}");
        for l in fixes {
            let m = &l["msg"];
            let t = m["timestamp"]["seconds"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                * 1_000_000_000
                + m["timestamp"]["nanos"].as_u64().unwrap();
            let (lat, lon) = want[&t];
            assert_eq!(m["latitude"].as_f64(), Some(lat), "{protocol}: {l}");
            assert_eq!(m["longitude"].as_f64(), Some(lon), "{protocol}: {l}");
            assert_eq!(m["frameId"], "gps");
        }
        // The frame channel decodes through its advertised schema too.
        assert!(lines.iter().any(|l| l["topic"] == "gps/gps"
            && l["msg"]["sensor"] == "gps"
            && l["msg"]["gps"].is_object()));
        // The sensor's story: the stall as a log entry.
        let logs: Vec<&str> = lines
            .iter()
            .filter(|l| l["event"] == "message" && l["topic"] == "gps/log")
            .map(|l| l["msg"]["message"].as_str().unwrap())
            .collect();
        assert!(logs.iter().any(|m| m.starts_with("gps: STALE")), "{logs:?}");
    }
    let report = f.daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
}
