//! The daemon's Prometheus endpoint scraped over plain HTTP: its counters
//! are what the fault suite compares with what it injected.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::DEADLINE;

/// The `[metrics]` section listening on `port` (0: a port the kernel picks
/// at bind, read back with [`crate::harness::Harness::logged_addr`]).
pub fn metrics_section(port: u16) -> String {
    format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")
}

/// `GET /metrics` on the connection `s`: the response's head (status line
/// and headers) and body, once the server closed it. The connection is the
/// caller's, to choose how patiently it connects.
pub async fn get_metrics(mut s: TcpStream) -> (String, String) {
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(DEADLINE, s.read_to_string(&mut raw))
        .await
        .expect("scrape timed out")
        .unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_owned(), body.to_owned())
}

/// One scrape of `/metrics`: sample line (name with labels) → value.
pub async fn scrape(port: u16) -> HashMap<String, f64> {
    let s = crate::ports::connect_when_listening(port, "metrics").await;
    let (_, body) = get_metrics(s).await;
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
