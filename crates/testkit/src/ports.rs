//! Loopback ports for listeners a test configures before starting them,
//! the port a daemon's listener on port 0 got, connecting to one once its
//! process listens, and whether a process has bound its UDP input yet.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::DEADLINE;

/// A connection to `127.0.0.1:port` as soon as something listens there:
/// for a process the test just started. Retries every 20 ms; panics after
/// [`DEADLINE`], naming `what`.
pub async fn connect_when_listening(port: u16, what: &str) -> TcpStream {
    let t0 = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => return s,
            Err(e) if t0.elapsed() > DEADLINE => panic!("{what} never listened on {port}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The address a daemon logged for its listener: the `addr` field of the
/// first line of `log` holding `event` (`metrics listening
/// addr=127.0.0.1:PORT`, or `"addr":"..."` in the JSON format), waited
/// for up to [`DEADLINE`]. For listeners configured on port 0,
/// whose port the kernel picks at bind: a port picked free beforehand
/// ([`free_port`]) can be taken by another socket before the daemon binds it.
pub async fn logged_addr(log: &Path, event: &str) -> SocketAddr {
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        // Whole lines only: one being written may end inside its address.
        let addr = text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n') && l.contains(event))
            .find_map(addr_field)
            .and_then(|a| a.parse().ok());
        if let Some(addr) = addr {
            return addr;
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "no `{event} addr=` in {}:\n{text}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `addr` field of a log line, text (`addr=A`) or JSON (`"addr":"A"`).
fn addr_field(line: &str) -> Option<&str> {
    match line.split_once("\"addr\":\"") {
        Some((_, rest)) => rest.split('"').next(),
        None => line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .map(|a| a.trim_matches('"')),
    }
}

/// Whether a UDP socket is bound to `port` on IPv4 (from `/proc/net/udp`):
/// for a daemon whose UDP input must be open before a test sends a bounded
/// burst to it. A probe datagram would be input the daemon counts.
pub fn udp_bound(port: u16) -> bool {
    let want = format!(":{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(&want))
        })
}

/// A TCP port that was free on loopback a moment ago: for a daemon or broker
/// the test configures with a fixed port (an ephemeral `:0` cannot be told
/// to another process). Also free for UDP in practice. Never the same port
/// twice in one test process: tests running in parallel (and one test
/// asking for a stream and a metrics port) would otherwise be handed the
/// same recently freed port and the second bind would fail.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if given.insert(port) {
            return port;
        }
    }
}
