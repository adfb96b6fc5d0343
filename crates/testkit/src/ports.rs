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

/// A loopback port free for TCP and UDP a moment ago: for a daemon or
/// broker the test configures with a fixed port (an ephemeral `:0` cannot be
/// told to another process).
///
/// Picked at random below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), from 20000 up: the kernel
/// never hands those out for `bind(:0)` nor as the source port of an
/// outgoing connection, so between this call and the peer's bind only a
/// process that names the same port itself could take it. A port inside
/// the range could go to any client socket opened meanwhile, by this test
/// or another. Never the same port twice in one test process (tests run in
/// parallel, and one test may ask for several ports); the random start
/// keeps test processes running at once apart.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    let (floor, ceiling) = (20_000u16, ephemeral_start().min(32_768));
    if ceiling >= floor + 1_000 {
        let span = u64::from(ceiling - floor);
        let mut next = floor + (random() % span) as u16;
        for _ in 0..span {
            next = if next + 1 >= ceiling { floor } else { next + 1 };
            if !given.contains(&next) && bindable(next) {
                given.insert(next);
                return next;
            }
        }
    }
    // An ephemeral range reaching down to 21000 or lower leaves no room
    // below it: a port the kernel picked free, as before.
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

/// The first port of the kernel's ephemeral range (32768 when unreadable).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Whether TCP and UDP can both bind `port` on loopback now.
fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

/// A random number: the hash of nothing under std's per-process random
/// hasher keys.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_lie_below_the_ephemeral_range_and_are_distinct() {
        let start = ephemeral_start();
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        for &p in &ports {
            if start >= 21_000 {
                assert!(
                    (20_000..start.min(32_768)).contains(&p),
                    "{p} outside 20000..{start}"
                );
            }
            assert!(bindable(p), "{p} was handed out but cannot be bound");
        }
    }
}
