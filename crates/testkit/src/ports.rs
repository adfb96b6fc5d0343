//! Loopback ports for listeners a test configures before starting them.

/// A TCP port that was free on loopback a moment ago: for a daemon or broker
/// the test configures with a fixed port (an ephemeral `:0` cannot be told
/// to another process). Also free for UDP in practice.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
