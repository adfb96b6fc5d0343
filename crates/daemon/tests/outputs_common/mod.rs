//! Harness of the output-sink tests: firmware-sim on real ptys and the
//! daemon in-process (so tests can read the sinks' counters), plus stream
//! clients that may send a `Subscribe` first.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

pub mod mcap_read;

use std::net::SocketAddr;
use std::time::Duration;

use dronetel::{Config, Daemon};
use dronetel_proto::v1::{Frame, Subscribe};
use dronetel_proto::FrameCodec;
use firmware_sim::{SimOptions, Simulator};
use futures_util::StreamExt;
use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

/// Generous deadline for anything that crosses real I/O.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Simulator + in-process daemon.
pub struct InProc {
    pub dir: tempfile::TempDir,
    pub sim: Simulator,
    pub daemon: Daemon,
}

/// The `[daemon]`, `[[sensor]]` and `[stream]` sections for a simulated GPS
/// at `gps` (TCP stream on an ephemeral loopback port), followed by `extra`.
pub fn config_text(gps: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
[daemon]
vehicle_id = "v1"
shutdown_grace = "5s"

[[sensor]]
name = "gps0"
kind = "gps"
protocol = "nmea"
path = "{gps}"
baud = 115200
stale_after = "2s"

[stream]
tcp = "127.0.0.1:0"
max_clients = 8
{extra}
"#,
        gps = gps.display()
    )
}

impl InProc {
    /// Starts the simulator at `gps_rate_hz` and a daemon whose config has
    /// `extra` appended (`{dir}` in it is replaced by the temp dir).
    pub async fn start(tag: &str, gps_rate_hz: f64, extra: &str) -> InProc {
        let dir = tempfile::Builder::new()
            .prefix(&format!("dronetel-out-{tag}-"))
            .tempdir()
            .unwrap();
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

    pub fn tcp(&self) -> SocketAddr {
        self.daemon.tcp_addr().unwrap()
    }
}

/// A TCP stream client.
pub struct Client {
    pub frames: FramedRead<TcpStream, FrameCodec>,
}

impl Client {
    /// Connects, sending `sub` first when given.
    pub async fn connect(addr: SocketAddr, sub: Option<&Subscribe>) -> Client {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if let Some(sub) = sub {
            s.write_all(&sub.encode_length_delimited_to_vec())
                .await
                .unwrap();
        }
        Client {
            frames: FramedRead::new(s, FrameCodec::default()),
        }
    }

    /// The next frame, `None` at the end; panics after [`DEADLINE`].
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(DEADLINE, self.frames.next())
            .await
            .expect("no frame within the deadline")
            .map(|r| r.unwrap())
    }
}

/// A free UDP/TCP port on loopback a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
