//! Loopback ports for listeners a test configures before starting them,
//! and connecting to one once its process listens.

use std::collections::HashSet;
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
