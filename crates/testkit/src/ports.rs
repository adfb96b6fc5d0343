//! Loopback ports for listeners a test configures before starting them.

use std::collections::HashSet;
use std::sync::Mutex;

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
