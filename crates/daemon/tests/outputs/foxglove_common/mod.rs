//! Harness of the Foxglove tests: the simulator's three sensors (GPS,
//! flight controller, tracker) under an in-process daemon, and the peers
//! no one here wrote, installed by the test itself into private folders
//! under the target directory when missing: a Python venv with `mcap`,
//! `mcap-protobuf-support` and `websockets` (PyPI), and the official
//! `@foxglove/ws-protocol` client with `protobufjs` (npm).
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dronetel::{Config, Daemon};
use dronetel_proto::v1::{frame::Body, SensorState};
use firmware_sim::{SimOptions, Simulator};

/// Simulator + in-process daemon.
pub struct Flight {
    pub dir: tempfile::TempDir,
    pub sim: Option<Simulator>,
    pub daemon: Daemon,
}

/// The three simulated sensors (`gps`, `fc`, `tracker`) and a stream on an
/// ephemeral port, followed by `extra` (`{dir}`: the temp dir).
pub async fn flight(tag: &str, extra: &str) -> Flight {
    let mut f = daemon_first(tag, extra).await;
    f.start_sim().await;
    f
}

/// [`flight`] with the daemon started before the simulator: its sensors
/// are missing (DISCONNECTED, reopened with backoff) until
/// [`Flight::start_sim`].
pub async fn daemon_first(tag: &str, extra: &str) -> Flight {
    let dir = tempfile::Builder::new()
        .prefix(&format!("dronetel-fg-{tag}-"))
        .tempdir()
        .unwrap();
    let dev = dir.path().join("dev");
    let extra = extra.replace("{dir}", &dir.path().display().to_string());
    let text = format!(
        r#"
[daemon]
vehicle_id = "v1"
shutdown_grace = "5s"

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = "{dev}/gps"
baud = 115200
stale_after = "1s"

[[sensor]]
name = "fc"
kind = "flight_controller"
protocol = "mavlink"
path = "{dev}/fc"
baud = 115200

[[sensor]]
name = "tracker"
kind = "tracking"
protocol = "tracker"
path = "{dev}/tracker"
baud = 115200

[stream]
tcp = "127.0.0.1:0"
{extra}
"#,
        dev = dev.display(),
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    let mut daemon = Daemon::new(config);
    daemon.start().await.unwrap();
    Flight {
        dir,
        sim: None,
        daemon,
    }
}

impl Flight {
    /// Starts the simulator (10 Hz GPS) on the daemon's device paths.
    pub async fn start_sim(&mut self) {
        let mut opts = SimOptions::new(self.dir.path().join("dev"));
        opts.gps_rate_hz = 10.0;
        self.sim = Some(Simulator::start(opts).await.unwrap());
    }

    /// The running simulator.
    pub fn sim(&self) -> &Simulator {
        self.sim.as_ref().unwrap()
    }

    /// The Foxglove server's address.
    pub fn foxglove(&self) -> std::net::SocketAddr {
        self.daemon
            .sinks()
            .endpoint::<dronetel::sink::foxglove::FoxgloveSink, _>(|e| match e {
                dronetel::sink::contract::Endpoint::Tcp(a) => Some(*a),
                _ => None,
            })
            .unwrap()
    }
}

/// Waits (up to 20 s) for a health frame of `sensor` in `state` on `rx`.
pub async fn wait_state(rx: &mut dronetel::BusReceiver, sensor: &str, state: SensorState) {
    let deadline = std::time::Duration::from_secs(20);
    let t0 = std::time::Instant::now();
    loop {
        assert!(t0.elapsed() < deadline, "{sensor} never {state:?}");
        let got = tokio::time::timeout(deadline, rx.recv()).await.unwrap();
        let dronetel::Received::Frame(p) = got else {
            panic!("bus closed")
        };
        if p.frame().sensor == sensor {
            if let Some(Body::Health(h)) = &p.frame().body {
                if h.state() == state {
                    return;
                }
            }
        }
    }
}

/// A private folder under the target directory (shared by test runs).
fn private(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Builds `dir` with `make` (into a fresh folder beside it, renamed into
/// place when complete) unless `ready(dir)` already holds; concurrent test
/// processes each build their own and the first rename wins.
fn ensure_dir(dir: &Path, ready: impl Fn(&Path) -> bool, make: impl Fn(&Path) -> bool) {
    if ready(dir) {
        return;
    }
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(make(&tmp), "installing into {} failed", tmp.display());
    if std::fs::rename(&tmp, dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(ready(dir), "{} is not usable", dir.display());
}

fn run(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python of a private venv with `mcap`, `mcap-protobuf-support`,
/// `protobuf` and `websockets`, created and installed from PyPI when
/// missing. A venv is not relocatable, so it is built where it stays,
/// under a file lock, with a marker file written last.
pub fn python() -> PathBuf {
    let dir = private("foxglove-venv");
    let py = dir.join("bin/python");
    let marker = dir.join("installed");
    if !marker.exists() {
        let _guard = lock(&private("foxglove-venv.lock"));
        if !marker.exists() {
            let _ = std::fs::remove_dir_all(&dir);
            assert!(
                run(Command::new("python3").args(["-m", "venv"]).arg(&dir)),
                "python3 -m venv failed"
            );
            assert!(
                run(Command::new(&py).args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "mcap",
                    "mcap-protobuf-support",
                    "protobuf",
                    "websockets",
                ])),
                "pip install into {} failed",
                dir.display()
            );
            std::fs::write(&marker, "").unwrap();
        }
    }
    py
}

/// The `node_modules` folder holding `@foxglove/ws-protocol`, `protobufjs`
/// and `ws`, installed from npm when missing.
pub fn node_modules() -> PathBuf {
    let dir = private("foxglove-npm");
    let ready = |d: &Path| {
        d.join("node_modules/@foxglove/ws-protocol/package.json")
            .exists()
            && d.join("node_modules/protobufjs/package.json").exists()
            && d.join("node_modules/ws/package.json").exists()
    };
    ensure_dir(&dir, ready, |tmp| {
        std::fs::create_dir_all(tmp).unwrap();
        std::fs::write(tmp.join("package.json"), "{\"private\":true}").unwrap();
        run(Command::new("npm").current_dir(tmp).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "@foxglove/ws-protocol",
            "protobufjs",
            "ws",
        ]))
    });
    dir.join("node_modules")
}

/// An exclusive lock on `path` held until the guard drops (test binaries
/// run in parallel processes).
fn lock(path: &Path) -> nix::fcntl::Flock<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .unwrap()
}
