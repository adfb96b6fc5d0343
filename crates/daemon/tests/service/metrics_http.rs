//! The Prometheus endpoint of the real binary, scraped over real HTTP while
//! it reads a simulated GPS on a pty and serves a stream client: the body
//! parses as Prometheus text and carries the expected series. The same run
//! logs with `--log-format json`: every stderr line is a JSON object.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use dronetel_testkit::metrics::get_metrics;
use dronetel_testkit::ports::{connect_when_listening, free_port, logged_addr};
use dronetel_testkit::sections::gps_section;
use dronetel_testkit::spawn::{exit_status, signal, spawn_daemon};
use dronetel_testkit::DEADLINE;
use firmware_sim::{SimOptions, Simulator};
use nix::sys::signal::Signal;
use prometheus_parse::{Sample, Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One scrape: the status line, the headers and the parsed body.
async fn scrape(port: u16) -> (String, String, Scrape) {
    let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (head, body) = get_metrics(s).await;
    let body = body.as_str();
    let status = head.lines().next().unwrap().to_owned();
    let samples_expected = body
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(
        parsed.samples.len(),
        samples_expected,
        "some sample lines did not parse:\n{body}"
    );
    (status, head.to_owned(), parsed)
}

fn value(s: &Sample) -> f64 {
    match s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        _ => panic!("unexpected histogram/summary {s:?}"),
    }
}

/// The value of the one sample named `metric` with all of `labels`.
fn get(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    assert!(
        found.len() <= 1,
        "{metric} {labels:?} is ambiguous: {found:?}"
    );
    found.first().map(|s| value(s))
}

/// A fresh directory with a simulated GPS under `dev/`.
async fn simulated_gps() -> (tempfile::TempDir, Simulator) {
    let dir = tempfile::Builder::new()
        .prefix("dronetel-metrics-")
        .tempdir()
        .unwrap();
    let sim = Simulator::start(SimOptions::new(dir.path().join("dev")))
        .await
        .unwrap();
    (dir, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_serves_parseable_series() {
    let (dir, sim) = simulated_gps().await;
    let config = format!(
        "[daemon]\nvehicle_id = \"metrics\"\nhealth_interval = \"200ms\"\n{}\n\
         [stream]\ntcp = \"127.0.0.1:0\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        gps_section("gps", &sim.gps().link())
    );
    let cfg = dir.path().join("dronetel.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", "--log-format", "json", "run", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stream_port = logged_addr(&log, "stream listening on tcp").await.port();
    let metrics_port = logged_addr(&log, "metrics listening").await.port();

    // A stream client, so per-client series exist.
    let _client = connect_when_listening(stream_port, "the stream").await;

    // Scrape until the GPS is ONLINE and has counted messages, and the
    // client is served: the sink writes its first frames only once the
    // client's 200 ms for a `Subscribe` are over, which on a fast machine
    // can be after the GPS is ONLINE.
    let t0 = Instant::now();
    let (status, head, s) = loop {
        let (status, head, s) = scrape(metrics_port).await;
        let online = get(
            &s,
            "dronetel_sensor_state",
            &[("sensor", "gps"), ("state", "ONLINE")],
        );
        let ok = get(
            &s,
            "dronetel_sensor_readings_published_total",
            &[("sensor", "gps")],
        );
        let clients = get(&s, "dronetel_clients", &[("sink", "stream")]);
        let sent = get(&s, "dronetel_sink_frames_sent_total", &[("sink", "stream")]);
        if online == Some(1.0)
            && ok.is_some_and(|n| n > 0.0)
            && clients == Some(1.0)
            && sent.is_some_and(|n| n > 0.0)
        {
            break (status, head, s);
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "gps never ONLINE with messages and the client served in /metrics: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/openmetrics-text"));

    // One-hot state: exactly one state is 1.
    let states: f64 = ["STARTING", "ONLINE", "STALE", "DISCONNECTED"]
        .iter()
        .map(|st| {
            get(
                &s,
                "dronetel_sensor_state",
                &[("sensor", "gps"), ("state", st)],
            )
            .unwrap()
        })
        .sum();
    assert_eq!(states, 1.0);
    let age = get(
        &s,
        "dronetel_sensor_last_message_age_seconds",
        &[("sensor", "gps")],
    )
    .unwrap();
    assert!((0.0..5.0).contains(&age), "age {age}");
    for counter in [
        "dronetel_sensor_bytes_read_total",
        "dronetel_sensor_messages_ok_total",
    ] {
        assert!(
            get(&s, counter, &[("sensor", "gps")]).unwrap() > 0.0,
            "{counter}"
        );
    }
    for counter in [
        "dronetel_sensor_checksum_errors_total",
        "dronetel_sensor_framing_errors_total",
        "dronetel_sensor_unknown_messages_total",
    ] {
        assert!(
            get(&s, counter, &[("sensor", "gps")]).is_some(),
            "{counter}"
        );
    }
    assert_eq!(
        get(&s, "dronetel_sensor_reopens_total", &[("sensor", "gps")]),
        Some(0.0)
    );
    assert!(get(&s, "dronetel_bus_depth", &[]).is_some());
    assert!(get(&s, "dronetel_bus_frames_published_total", &[]).unwrap() > 0.0);
    assert_eq!(get(&s, "dronetel_bus_dropped_frames_total", &[]), Some(0.0));
    assert_eq!(
        get(
            &s,
            "dronetel_sink_dropped_frames_total",
            &[("sink", "stream")]
        ),
        Some(0.0)
    );
    assert_eq!(
        get(&s, "dronetel_clients", &[("sink", "stream")]),
        Some(1.0),
        "the connected client"
    );
    assert!(
        get(&s, "dronetel_sink_frames_sent_total", &[("sink", "stream")]).unwrap() > 0.0,
        "frames written to the client"
    );
    assert_eq!(get(&s, "dronetel_build_info", &[]), Some(1.0));

    // Other paths are not served.
    let mut c = TcpStream::connect(("127.0.0.1", metrics_port))
        .await
        .unwrap();
    c.write_all(b"GET /secret HTTP/1.1\r\n\r\n").await.unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 404 "), "{raw}");

    signal(&daemon, Signal::SIGTERM);
    assert!(exit_status(&mut daemon).await.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let mut messages = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        messages.iter().any(|m| m == "metrics listening"),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m == "daemon stopped"),
        "{messages:?}"
    );
}

/// Every series of a scrape, by name and labels (values left out).
fn series(s: &Scrape) -> std::collections::BTreeSet<String> {
    s.samples
        .iter()
        .map(|x| {
            let mut labels: Vec<String> =
                x.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            format!("{}{{{}}}", x.metric, labels.join(","))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sink_reports_its_counters_and_reconnects_add_no_series() {
    let (dir, sim) = simulated_gps().await;
    let ground = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // No broker listens here: the MQTT sink queues and retries.
    let broker_port = free_port();
    let config = format!(
        "[daemon]\nvehicle_id = \"metrics\"\nhealth_interval = \"50ms\"\n{}\n\
         [stream]\ntcp = \"127.0.0.1:0\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [udp]\ntarget = \"{}\"\n[record]\ndir = \"{}\"\nmin_free_space = 0\n\
         [mqtt]\nurl = \"mqtt://127.0.0.1:{broker_port}\"\nqueue = 10\n",
        gps_section("gps", &sim.gps().link()),
        ground.local_addr().unwrap(),
        dir.path().join("rec").display(),
    );
    let cfg = dir.path().join("dronetel.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = spawn_daemon(crate::DRONETEL, &cfg, &log, &[]);
    let stream_port = logged_addr(&log, "stream listening on tcp").await.port();
    let metrics_port = logged_addr(&log, "metrics listening").await.port();

    // Every sink shows its counters; the UDP and recording sinks have sent
    // frames, the MQTT sink without a broker has dropped some.
    let sinks = ["stream", "udp", "record", "mqtt", "metrics"];
    let t0 = Instant::now();
    let before = loop {
        let s = tokio::select! {
            s = async {
                loop {
                    match TcpStream::connect(("127.0.0.1", metrics_port)).await {
                        Ok(_) => break scrape(metrics_port).await.2,
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            } => s,
            _ = tokio::time::sleep(DEADLINE) => panic!("metrics never answered"),
        };
        let sent = |sink| get(&s, "dronetel_sink_frames_sent_total", &[("sink", sink)]);
        let dropped = |sink| get(&s, "dronetel_sink_dropped_frames_total", &[("sink", sink)]);
        let all_there = sinks
            .iter()
            .all(|k| sent(k).is_some() && dropped(k).is_some());
        if all_there
            && sent("udp") > Some(0.0)
            && sent("record") > Some(0.0)
            && dropped("mqtt") > Some(0.0)
        {
            break s;
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "sink counters never all showed: {:?}",
            series(&s)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // 100 connect/disconnect cycles of one stream client, scraped while it
    // is connected: a series per peer would make each scrape new. Every
    // scrape has exactly the series of the first, and those of the scrape
    // before any client.
    let mut first = None;
    for cycle in 0..100 {
        let mut c = TcpStream::connect(("127.0.0.1", stream_port))
            .await
            .unwrap();
        let mut byte = [0u8; 1];
        tokio::time::timeout(DEADLINE, c.read_exact(&mut byte))
            .await
            .expect("a frame for every client")
            .unwrap();
        let now = series(&scrape(metrics_port).await.2);
        match &first {
            None => first = Some(now),
            Some(first) => assert_eq!(first, &now, "cycle {cycle} changed the series"),
        }
    }
    assert_eq!(
        first.as_ref(),
        Some(&series(&before)),
        "a client changed the series"
    );
    let t0 = Instant::now();
    let after = loop {
        let s = scrape(metrics_port).await.2;
        if get(&s, "dronetel_clients", &[("sink", "stream")]) == Some(0.0) {
            break s;
        }
        assert!(t0.elapsed() < DEADLINE, "clients never all gone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        get(
            &after,
            "dronetel_sink_frames_sent_total",
            &[("sink", "stream")]
        )
        .unwrap()
            >= 100.0,
        "every client was written to"
    );
    assert_eq!(
        series(&before),
        series(&after),
        "reconnects changed the series"
    );

    signal(&daemon, Signal::SIGTERM);
    assert!(exit_status(&mut daemon).await.success());
}
