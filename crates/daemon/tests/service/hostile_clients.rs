//! Connections as an attacker opens them, against the real binary: 32 idle
//! connections to the metrics port do not keep a scrape out; a stream
//! client that starts a `Subscribe` and never finishes it is closed with a
//! log line that says so; a storm of 500 connections over `max_clients`
//! writes a bounded number of log lines, whose counts add up to the storm.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use dronetel_testkit::metrics::get_metrics;
use dronetel_testkit::ports::{connect_when_listening, logged_addr};
use dronetel_testkit::sections::gps_section;
use dronetel_testkit::spawn::{exit_status, signal, spawn_daemon};
use dronetel_testkit::DEADLINE;
use firmware_sim::{SimOptions, Simulator};
use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(port: u16) -> TcpStream {
    connect_when_listening(port, "the daemon").await
}

/// Lines of the stream's connection log (single closes and summaries).
fn conn_log_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("connection closed") || l.contains("connections closed"))
        .filter(|l| l.contains("listener=\"stream\""))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_refused_connections_cannot_starve_or_flood() {
    let dir = tempfile::Builder::new()
        .prefix("dronetel-hostile-")
        .tempdir()
        .unwrap();
    let sim = Simulator::start(SimOptions::new(dir.path().join("dev")))
        .await
        .unwrap();
    let config = format!(
        "[daemon]\nvehicle_id = \"hostile\"\n{}\n\
         [stream]\ntcp = \"127.0.0.1:0\"\nmax_clients = 2\n\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n",
        gps_section("gps", &sim.gps().link())
    );
    let cfg = dir.path().join("dronetel.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = spawn_daemon(super::DRONETEL, &cfg, &log, &[]);
    let stream_port = logged_addr(&log, "stream listening on tcp").await.port();
    let metrics_port = logged_addr(&log, "metrics listening").await.port();
    let first = connect(stream_port).await;
    let _ = connect(metrics_port).await;

    // 1. 32 idle connections to the metrics port, then a scrape.
    let mut idle = Vec::new();
    for _ in 0..32 {
        idle.push(connect(metrics_port).await);
    }
    let t0 = Instant::now();
    let s = connect(metrics_port).await;
    let (head, body) = tokio::time::timeout(Duration::from_secs(5), get_metrics(s))
        .await
        .expect("a scrape behind 32 idle connections was not answered within 5 s");
    eprintln!("scrape behind 32 idle connections: {:?}", t0.elapsed());
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(body.contains("dronetel_build_info"), "{body}");
    drop(idle);

    // 2. A slowloris: a Subscribe of 5 bytes of which 2 come.
    let mut slow = connect(stream_port).await;
    slow.write_all(&[5, 1, 2]).await.unwrap();
    let mut sink = Vec::new();
    // The daemon closes it (after 2 s); reading sees the end.
    tokio::time::timeout(DEADLINE, slow.read_to_end(&mut sink))
        .await
        .expect("the slow subscribe was never closed")
        .ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("subscribe message not completed within 2 s"),
        "no accurate slowloris line:\n{text}"
    );

    // 3. Two clients hold both slots; 500 more are refused.
    let mut second = connect(stream_port).await;
    // Admitted, not refused: its frames come.
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(DEADLINE, second.read(&mut b))
        .await
        .expect("the second client got no frame")
        .unwrap();
    assert_eq!(n, 1, "the second client was refused");
    let before = conn_log_lines(&std::fs::read_to_string(&log).unwrap()).len();
    for _ in 0..500 {
        let mut c = connect(stream_port).await;
        let mut b = [0u8; 1];
        // Refused: closed at once without a frame (a connection left open
        // fails here within seconds, not after 500 deadlines).
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut b))
            .await
            .expect("a refused connection was left open")
            .unwrap_or(0);
        assert_eq!(n, 0, "a connection past max_clients got a frame");
    }
    signal(&daemon, Signal::SIGTERM);
    assert!(exit_status(&mut daemon).await.success());
    drop(first);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = conn_log_lines(&text);
    let storm: Vec<&str> = lines[before..].to_vec();
    eprintln!(
        "{} log lines for 500 refused connections:\n{}",
        storm.len(),
        storm.join("\n")
    );
    // The first refusal on its own line, the rest in a summary (one per
    // 10 s interval and one at shutdown).
    assert!(storm.len() <= 4, "{} lines", storm.len());
    let counted: u64 = storm
        .iter()
        .map(|l| {
            if l.contains("connections closed") {
                l.split("closed=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            } else {
                1
            }
        })
        .sum();
    assert_eq!(counted, 500, "{}", storm.join("\n"));
}
