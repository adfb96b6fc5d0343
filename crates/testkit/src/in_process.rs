//! The daemon in the test's own process, reading firmware-sim's GPS on a
//! real pty: tests of the output sinks read the sinks' counters and call
//! the daemon's API, which the binary in a child process would hide.

use std::net::SocketAddr;

use dronetel::{Config, Daemon};
use dronetel_proto::v1::Subscribe;
use firmware_sim::{SimOptions, Simulator};
use tokio::net::TcpStream;

use crate::client::Client;
use crate::sections::config_text;
use crate::{temp_dir, wait_until, TempDir};

/// Simulator + in-process daemon.
pub struct InProc {
    /// Scratch directory: the simulator's links and the sinks' files.
    pub dir: TempDir,
    /// The simulated devices.
    pub sim: Simulator,
    /// The daemon under test, started.
    pub daemon: Daemon,
}

impl InProc {
    /// Starts the simulator at `gps_rate_hz` and a daemon whose config has
    /// `extra` appended (`{dir}` in it is replaced by the temp dir).
    pub async fn start(tag: &str, gps_rate_hz: f64, extra: &str) -> InProc {
        let dir = temp_dir(tag);
        let mut opts = SimOptions::new(dir.path().join("dev"));
        opts.gps_rate_hz = gps_rate_hz;
        let sim = Simulator::start(opts).await.unwrap();
        let extra = extra.replace("{dir}", &dir.path().display().to_string());
        let text = config_text(&sim.gps().link(), &extra);
        let config = Config::parse(&text, "test.toml").unwrap();
        let mut daemon = Daemon::new(config);
        daemon.start().await.unwrap();
        InProc { dir, sim, daemon }
    }

    /// The address the stream sink's TCP listener got.
    pub fn tcp(&self) -> SocketAddr {
        self.daemon.tcp_addr().unwrap()
    }

    /// A TCP stream client the daemon has already subscribed to the bus
    /// (see [`subscribed_tcp_client`]).
    pub async fn subscribed_client(&self, sub: Option<&Subscribe>) -> Client<TcpStream> {
        subscribed_tcp_client(&self.daemon, sub).await
    }
}

/// A TCP stream client of the in-process `daemon` (sending `sub` first when
/// given) that the stream sink has already subscribed to the bus: returns
/// once the daemon's consumer registry lists the connection. For tests that
/// compare what it receives with what another consumer got from some point
/// on; a plain [`Client::connect`] returns while the connection may still
/// wait in the listen backlog, and the first of those frames may be
/// published before the sink accepts it.
pub async fn subscribed_tcp_client(daemon: &Daemon, sub: Option<&Subscribe>) -> Client<TcpStream> {
    let client = Client::connect(daemon.tcp_addr().unwrap(), sub).await;
    // The stream sink names a TCP client's consumer after its peer address.
    let peer = format!("tcp:{}", client.frames.get_ref().local_addr().unwrap());
    let consumers = daemon.bus().consumers().clone();
    wait_until("the stream sink subscribing the client", || {
        consumers
            .snapshot()
            .live
            .iter()
            .any(|c| c.id.sink == "stream" && c.id.peer.as_deref() == Some(peer.as_str()))
    })
    .await;
    client
}
