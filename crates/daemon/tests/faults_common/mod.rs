//! Helpers of the fault suite: what the daemon process holds (open file
//! descriptors, resident memory, live tasks), its Prometheus counters, and
//! the last health report of each sensor.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, SensorHealth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Client, Harness, DEADLINE};

/// The `[metrics]` section listening on `port`.
pub fn metrics_section(port: u16) -> String {
    format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")
}

/// The daemon's process id.
pub fn pid(h: &Harness) -> u32 {
    h.daemon.id().expect("daemon running")
}

/// Open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Resident set size of process `pid`, bytes.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

/// One scrape of `/metrics`: sample line (name with labels) → value.
pub async fn scrape(port: u16) -> HashMap<String, f64> {
    let t0 = Instant::now();
    let mut s = loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => break s,
            Err(e) if t0.elapsed() > DEADLINE => panic!("metrics never answered: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(DEADLINE, s.read_to_string(&mut raw))
        .await
        .expect("scrape timed out")
        .unwrap();
    let body = raw.split_once("\r\n\r\n").expect("an HTTP response").1;
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect()
}

/// The value of the sample `key` (e.g. `dronetel_runtime_alive_tasks` or
/// `dronetel_clients{sink="stream"}`) in a fresh scrape.
pub async fn metric(port: u16, key: &str) -> f64 {
    *scrape(port)
        .await
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in the scrape"))
}

/// Scrapes until `key` is present and satisfies `ok`; returns its value.
pub async fn metric_until(port: u16, key: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let t0 = Instant::now();
    loop {
        let v = scrape(port).await.get(key).copied();
        if let Some(v) = v.filter(|v| ok(*v)) {
            return v;
        }
        assert!(t0.elapsed() < DEADLINE, "{key} stuck at {v:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads `client` until a health report of `sensor` satisfies `ok`.
pub async fn health_until(
    client: &mut Client,
    sensor: &str,
    what: &str,
    ok: impl Fn(&SensorHealth) -> bool,
) -> SensorHealth {
    let f = client
        .until(what, |f| {
            f.sensor == sensor && matches!(&f.body, Some(Body::Health(h)) if ok(h))
        })
        .await;
    match f.body {
        Some(Body::Health(h)) => h,
        _ => unreachable!(),
    }
}

/// Errors a decoder counted: bad checksums, bad framing, undecodable.
pub fn errors(h: &SensorHealth) -> u64 {
    h.checksum_errors + h.framing_errors + h.decode_errors
}

/// Log lines that show a panic.
pub fn assert_no_panic(h: &Harness) {
    let log = h.log_text();
    assert!(
        !log.contains("panicked") && !log.contains("RUST_BACKTRACE"),
        "panic in the daemon log:\n{log}"
    );
}

/// Asserts that frame sequence numbers follow each other without a gap.
pub fn assert_contiguous(what: &str, seqs: &[u64]) {
    let gap = seqs.windows(2).find(|w| w[1] != w[0] + 1);
    assert!(
        gap.is_none(),
        "{what}: gap {gap:?} in {} frames",
        seqs.len()
    );
}

/// Open fds and live tasks of the daemon once both are back to at most
/// `fds0` and `tasks0 + 2` (a connection or task that is just closing
/// settles within moments; a leak never does, and the deadline returns
/// what it is then for the caller's assertion).
pub async fn settled_fds_and_tasks(pid: u32, port: u16, fds0: usize, tasks0: f64) -> (usize, f64) {
    let t0 = Instant::now();
    loop {
        let (fds, tasks) = (
            open_fds(pid),
            metric(port, "dronetel_runtime_alive_tasks").await,
        );
        if (fds <= fds0 && tasks <= tasks0 + 2.0) || t0.elapsed() > Duration::from_secs(5) {
            return (fds, tasks);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
