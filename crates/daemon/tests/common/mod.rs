//! Shared harness of the end-to-end tests: firmware-sim on real pseudo-terminals,
//! the real `dronetel` binary as a child process, and stream clients that
//! decode the delimited frame stream.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dronetel_proto::v1::{frame::Body, Frame, GpsFix, SensorState};
use dronetel_proto::FrameCodec;
use firmware_sim::{SimOptions, Simulator};
use futures_util::StreamExt;
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio_util::codec::FramedRead;

/// Generous deadline for anything that crosses real I/O.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A temporary directory removed on drop.
pub type TempDir = tempfile::TempDir;

/// A fresh temporary directory tagged with the test's name.
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("dronetel-e2e-{tag}-"))
        .tempdir()
        .unwrap()
}

/// Knobs of one end-to-end setup.
pub struct Setup {
    pub gps_rate_hz: f64,
    pub stale_after: &'static str,
    pub max_clients: u32,
    pub tcp: Option<String>,
    pub shutdown_grace: &'static str,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            gps_rate_hz: 10.0,
            stale_after: "1s",
            max_clients: 8,
            tcp: None,
            shutdown_grace: "3s",
        }
    }
}

/// The simulator, the daemon process and the paths they share.
pub struct Harness {
    /// Every cycle the simulated GPS wrote, by fix time in milliseconds,
    /// collected from before the daemon starts.
    pub truth: Arc<Mutex<HashMap<i64, GpsFix>>>,
    pub dir: TempDir,
    pub sim: Simulator,
    pub daemon: Child,
    pub unix: PathBuf,
    pub log: PathBuf,
}

/// A TCP port that was free a moment ago on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Harness {
    pub async fn start(tag: &str, setup: Setup) -> Self {
        let dir = temp_dir(tag);
        let links = dir.path().join("dev");
        let mut opts = SimOptions::new(links.clone());
        opts.gps_rate_hz = setup.gps_rate_hz;
        let sim = Simulator::start(opts).await.unwrap();
        let truth: Arc<Mutex<HashMap<i64, GpsFix>>> = Arc::default();
        let mut rx = sim.gps().subscribe_truth();
        let sink = truth.clone();
        tokio::spawn(async move {
            while let Ok(t) = rx.recv().await {
                let ms = t
                    .time
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                sink.lock().unwrap().insert(ms, t.fix);
            }
        });
        let unix = dir.path().join("stream.sock");
        let tcp = setup
            .tcp
            .clone()
            .unwrap_or_else(|| format!("127.0.0.1:{}", free_port()));
        let config = format!(
            r#"
[daemon]
vehicle_id = "e2e"
shutdown_grace = "{grace}"

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = "{gps}"
baud = 115200
stale_after = "{stale}"

[stream]
tcp = "{tcp}"
unix = "{unix}"
max_clients = {max}
"#,
            grace = setup.shutdown_grace,
            gps = sim.gps().link().display(),
            stale = setup.stale_after,
            unix = unix.display(),
            max = setup.max_clients,
        );
        let cfg_path = dir.path().join("dronetel.toml");
        std::fs::write(&cfg_path, config).unwrap();
        let log = dir.path().join("daemon.log");
        let daemon = Command::new(env!("CARGO_BIN_EXE_dronetel"))
            .args(["run", "--config"])
            .arg(&cfg_path)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let h = Self {
            truth,
            dir,
            sim,
            daemon,
            unix,
            log,
        };
        h.wait_for_socket().await;
        h
    }

    async fn wait_for_socket(&self) {
        let t0 = Instant::now();
        // Not a probe connection: it would hold a client slot until the
        // daemon's next write notices it is gone.
        while !self.unix.exists() {
            assert!(
                t0.elapsed() < DEADLINE,
                "daemon never opened {}; log:\n{}",
                self.unix.display(),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The truth of the GPS cycle at `ms`. The simulator records a cycle's
    /// truth on its own task after writing it, which on a loaded machine may
    /// run after the daemon already delivered the fix: wait for it a while.
    pub async fn gps_truth_at(&self, ms: i64) -> Option<GpsFix> {
        let t0 = Instant::now();
        loop {
            if let Some(t) = self.truth.lock().unwrap().get(&ms).cloned() {
                return Some(t);
            }
            if t0.elapsed() > Duration::from_secs(2) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn client(&self) -> Client {
        let s = UnixStream::connect(&self.unix).await.unwrap();
        Client {
            frames: FramedRead::new(s, FrameCodec::default()),
        }
    }
}

/// A stream client reading delimited frames.
pub struct Client {
    pub frames: FramedRead<UnixStream, FrameCodec>,
}

impl Client {
    /// The next frame, or `None` at end of stream. Panics after [`DEADLINE`].
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(DEADLINE, self.frames.next())
            .await
            .expect("no frame within the deadline")
            .map(|r| r.unwrap())
    }

    /// Reads until `pred` matches a frame and returns it, with the time it took.
    pub async fn until(&mut self, what: &str, mut pred: impl FnMut(&Frame) -> bool) -> Frame {
        let t0 = Instant::now();
        loop {
            let f = self
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended waiting for {what}"));
            if pred(&f) {
                return f;
            }
            assert!(t0.elapsed() < DEADLINE, "no {what} within {DEADLINE:?}");
        }
    }
}

/// The state of a health frame, if it is one.
pub fn health_state(f: &Frame) -> Option<SensorState> {
    match &f.body {
        Some(Body::Health(h)) => SensorState::try_from(h.state).ok(),
        _ => None,
    }
}

/// True for a GPS frame carrying a position.
pub fn is_position_fix(f: &Frame) -> bool {
    matches!(&f.body, Some(Body::Gps(g)) if g.latitude_deg.is_some())
}
