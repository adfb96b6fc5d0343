//! SIGHUP reload of the real binary: a stream client stays connected and
//! loses no frame (contiguous seq) while a reload adds a second simulated
//! GPS, the unchanged sensor is not restarted; an invalid file is refused
//! with its location logged and the running configuration kept; a reload
//! that removes a sensor stops it. systemd sees RELOADING=1 then READY=1.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, Frame, SensorState};
use dronetel_proto::FrameCodec;
use dronetel_testkit::notify::NotifySocket;
use dronetel_testkit::ports::{connect_when_listening, free_port};
use dronetel_testkit::sections::gps_section;
use dronetel_testkit::spawn::{exit_status, signal, spawn_daemon};
use dronetel_testkit::DEADLINE;
use firmware_sim::{SimOptions, Simulator};
use futures_util::StreamExt;
use nix::sys::signal::Signal;
use tokio::net::TcpStream;
use tokio::process::Child;
use tokio_util::codec::FramedRead;

use crate::DRONETEL;

struct Client {
    frames: FramedRead<TcpStream, FrameCodec>,
    seqs: Vec<u64>,
    all: Vec<Frame>,
}

impl Client {
    async fn connect(port: u16) -> Self {
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        Self {
            frames: FramedRead::new(s, FrameCodec::default()),
            seqs: Vec::new(),
            all: Vec::new(),
        }
    }

    async fn next(&mut self) -> Frame {
        let f = tokio::time::timeout(DEADLINE, self.frames.next())
            .await
            .expect("no frame within the deadline")
            .expect("stream ended")
            .unwrap();
        self.seqs.push(f.seq);
        self.all.push(f.clone());
        f
    }

    /// Reads `n` more frames.
    async fn read(&mut self, n: usize) {
        for _ in 0..n {
            self.next().await;
        }
    }

    /// The unchanged sensor `name` never restarted while this client
    /// watched: no STARTING report and a `bytes_read` that never went back.
    fn assert_never_restarted(&self, name: &str) {
        let mut last = 0;
        // From its first ONLINE on: the STARTING of the daemon's own start
        // may reach a client that connected right after READY=1.
        let first_online = self
            .all
            .iter()
            .position(|f| f.sensor == name && state(f) == Some(SensorState::Online))
            .unwrap_or(0);
        for f in self.all[first_online..].iter().filter(|f| f.sensor == name) {
            if let Some(Body::Health(h)) = &f.body {
                assert_ne!(state(f), Some(SensorState::Starting), "{name} restarted");
                assert!(
                    h.bytes_read >= last,
                    "{name} bytes_read went back: restarted"
                );
                last = h.bytes_read;
            }
        }
        assert!(last > 0, "no health report of {name} seen");
    }

    async fn until(&mut self, what: &str, mut pred: impl FnMut(&Frame) -> bool) -> Vec<Frame> {
        let t0 = Instant::now();
        let mut seen = Vec::new();
        loop {
            let f = self.next().await;
            let hit = pred(&f);
            seen.push(f);
            if hit {
                return seen;
            }
            assert!(t0.elapsed() < DEADLINE, "no {what} within {DEADLINE:?}");
        }
    }

    fn assert_contiguous(&self) {
        let gaps: Vec<&[u64]> = self.seqs.windows(2).filter(|w| w[1] != w[0] + 1).collect();
        assert!(
            gaps.is_empty(),
            "seq gaps {gaps:?} in {} frames",
            self.seqs.len()
        );
    }
}

fn state(f: &Frame) -> Option<SensorState> {
    match &f.body {
        Some(Body::Health(h)) => SensorState::try_from(h.state).ok(),
        _ => None,
    }
}

fn config(port: u16, sensors: &[(&str, &Path)]) -> String {
    let mut c = String::from("[daemon]\nvehicle_id = \"reload\"\nhealth_interval = \"300ms\"\n");
    for (name, path) in sensors {
        c.push_str(&gps_section(name, path));
    }
    c.push_str(&format!("\n[stream]\ntcp = \"127.0.0.1:{port}\"\n"));
    c
}

/// Starts the daemon on `cfg` with its log and a notify socket in `dir`,
/// and waits for its READY=1.
async fn start_ready(dir: &Path, cfg: &Path) -> (PathBuf, NotifySocket, Child) {
    let log = dir.join("daemon.log");
    let mut notify = NotifySocket::bind(dir);
    let daemon = spawn_daemon(
        DRONETEL,
        cfg,
        &log,
        &[("NOTIFY_SOCKET", notify.path.display().to_string())],
    );
    notify.until("READY=1", |n| n.has("READY=1")).await;
    (log, notify, daemon)
}

/// A scratch directory with two simulated receivers; their pty links.
async fn two_receivers(
    prefix: &str,
) -> (
    tempfile::TempDir,
    (Simulator, Simulator),
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let sim1 = Simulator::start(SimOptions::new(dir.path().join("dev1")))
        .await
        .unwrap();
    let sim2 = Simulator::start(SimOptions::new(dir.path().join("dev2")))
        .await
        .unwrap();
    let (gps1, gps2) = (sim1.gps().link(), sim2.gps().link());
    (dir, (sim1, sim2), gps1, gps2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_and_removes_sensors_without_losing_a_frame_and_refuses_bad_files() {
    let (dir, _sims, gps1, gps2) = two_receivers("dronetel-reload-").await;
    let port = free_port();
    let cfg = dir.path().join("dronetel.toml");
    std::fs::write(&cfg, config(port, &[("gps", &gps1)])).unwrap();
    let (log, mut notify, mut daemon) = start_ready(dir.path(), &cfg).await;
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    let mut client = Client::connect(port).await;
    client
        .until("gps ONLINE", |f| {
            f.sensor == "gps" && state(f) == Some(SensorState::Online)
        })
        .await;
    client
        .until("a gps reading", |f| f.sensor == "gps" && state(f).is_none())
        .await;

    // 1. Add a sensor.
    std::fs::write(&cfg, config(port, &[("gps", &gps1), ("gps2", &gps2)])).unwrap();
    signal(&daemon, Signal::SIGHUP);
    let reloading = notify.until("RELOADING=1", |n| n.has("RELOADING=1")).await;
    assert!(reloading.get("MONOTONIC_USEC").is_some(), "{reloading:?}");
    notify
        .until("READY=1 after the reload", |n| n.has("READY=1"))
        .await;
    let after = client
        .until("gps2 reading", |f| f.sensor == "gps2" && state(f).is_none())
        .await;
    // The unchanged sensor was not restarted: no STARTING from it; and it
    // goes on publishing.
    assert!(
        after
            .iter()
            .all(|f| !(f.sensor == "gps" && state(f) == Some(SensorState::Starting))),
        "gps restarted by the reload"
    );
    client
        .until("more gps", |f| f.sensor == "gps" && state(f).is_none())
        .await;
    client.read(30).await;
    client.assert_contiguous();
    notify
        .until("status naming gps2", |n| {
            n.get("STATUS")
                .is_some_and(|s| s.contains("gps2 ONLINE") && s.contains("gps ONLINE"))
        })
        .await;

    // 2. An invalid file: refused, located, the running set kept.
    let bad = config(port, &[("gps", &gps1), ("gps2", &gps2)])
        .replace("baud = 115200", "baud = \"fast\"");
    std::fs::write(&cfg, &bad).unwrap();
    let bad_line = bad.lines().position(|l| l.contains("\"fast\"")).unwrap() + 1;
    signal(&daemon, Signal::SIGHUP);
    notify.until("RELOADING=1", |n| n.has("RELOADING=1")).await;
    notify
        .until("READY=1 after the refusal", |n| n.has("READY=1"))
        .await;
    let text = log_text();
    let refusal = text
        .lines()
        .find(|l| l.contains("reload refused"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{text}"));
    let location = format!("{}:{bad_line}:", cfg.display());
    assert!(
        refusal.contains(&location) && refusal.contains("baud"),
        "{refusal}"
    );
    for name in ["gps", "gps2"] {
        client
            .until("readings of both after the refusal", |f| {
                f.sensor == name && state(f).is_none()
            })
            .await;
    }
    client.read(30).await;
    client.assert_contiguous();

    // 3. Remove gps2: it stops; a client connected after the reload sees
    //    gps only.
    std::fs::write(&cfg, config(port, &[("gps", &gps1)])).unwrap();
    signal(&daemon, Signal::SIGHUP);
    notify.until("RELOADING=1", |n| n.has("RELOADING=1")).await;
    notify
        .until("READY=1 after the removal", |n| n.has("READY=1"))
        .await;
    let mut fresh = Client::connect(port).await;
    let mut gps_frames = 0;
    while gps_frames < 10 {
        let f = fresh.next().await;
        assert_ne!(f.sensor, "gps2", "removed sensor still publishing");
        gps_frames += usize::from(f.sensor == "gps");
    }
    client
        .until("gps after the removal", |f| f.sensor == "gps")
        .await;
    client.read(30).await;
    client.assert_contiguous();
    client.assert_never_restarted("gps");
    eprintln!(
        "{} frames, contiguous, over three reloads",
        client.seqs.len()
    );

    signal(&daemon, Signal::SIGTERM);
    let status = exit_status(&mut daemon).await;
    assert!(status.success(), "exit {status}; log:\n{}", log_text());
    let text = log_text();
    assert!(text.contains("configuration reloaded"), "{text}");
    let _ = Duration::ZERO;
}

/// One gpsd client line by line.
struct GpsdClient {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl GpsdClient {
    async fn connect(port: u16) -> Self {
        use tokio::io::AsyncBufReadExt;
        let s = connect_when_listening(port, "the gpsd port").await;
        let (r, w) = s.into_split();
        Self {
            lines: tokio::io::BufReader::new(r).lines(),
            w,
        }
    }

    /// Sends `request`, then returns the first object of `class`.
    async fn ask(&mut self, request: &str, class: &str) -> serde_json::Value {
        use tokio::io::AsyncWriteExt;
        self.w.write_all(request.as_bytes()).await.unwrap();
        self.until(class).await
    }

    async fn until(&mut self, class: &str) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            let line = tokio::time::timeout(DEADLINE, self.lines.next_line())
                .await
                .expect("no gpsd line within the deadline")
                .unwrap()
                .expect("gpsd connection ended");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["class"] == class {
                return v;
            }
            assert!(t0.elapsed() < DEADLINE, "no {class}");
        }
    }
}

fn device_paths(devices: &serde_json::Value) -> Vec<String> {
    devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_owned())
        .collect()
}

/// A reload that only changes the sensors leaves `[gpsd]` running (its
/// clients stay connected) and its device list follows: `?DEVICES;` on
/// the same connection lists the added receiver, a watcher gets its TPVs,
/// `?POLL;` reports its fix, and after its removal it is gone again from
/// both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_that_changes_sensors_updates_the_gpsd_devices() {
    let (dir, _sims, gps1, gps2) = two_receivers("dronetel-reload-gpsd-").await;
    let (port, gpsd_port) = (free_port(), free_port());
    let write = |sensors: &[(&str, &Path)]| {
        let text = format!(
            "{}\n[gpsd]\nlisten = \"127.0.0.1:{gpsd_port}\"\n",
            config(port, sensors)
        );
        std::fs::write(dir.path().join("dronetel.toml"), text).unwrap();
    };
    write(&[("gps", &gps1)]);
    let cfg = dir.path().join("dronetel.toml");
    let (log, mut notify, mut daemon) = start_ready(dir.path(), &cfg).await;
    let mut c = GpsdClient::connect(gpsd_port).await;
    let before = c.ask("?DEVICES;", "DEVICES").await;
    assert_eq!(device_paths(&before), [gps1.display().to_string()]);

    write(&[("gps", &gps1), ("gps2", &gps2)]);
    signal(&daemon, Signal::SIGHUP);
    notify.until("RELOADING=1", |n| n.has("RELOADING=1")).await;
    notify
        .until("READY=1 after the reload", |n| n.has("READY=1"))
        .await;
    let after = c.ask("?DEVICES;", "DEVICES").await;
    assert_eq!(
        device_paths(&after),
        [gps1.display().to_string(), gps2.display().to_string()]
    );
    let gps2_path = gps2.display().to_string();
    let watch = format!("?WATCH={{\"enable\":true,\"json\":true,\"device\":\"{gps2_path}\"}};");
    let tpv = c.ask(&watch, "TPV").await;
    assert_eq!(tpv["device"], gps2_path.as_str(), "{tpv}");
    let polled_devices = |poll: &serde_json::Value| -> Vec<String> {
        let mut d: Vec<String> = poll["tpv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["device"].as_str().unwrap().to_owned())
            .collect();
        d.sort();
        d
    };
    let mut poller = GpsdClient::connect(gpsd_port).await;
    let poll = poller.ask("?POLL;", "POLL").await;
    assert!(polled_devices(&poll).contains(&gps2_path), "{poll}");

    write(&[("gps", &gps1)]);
    signal(&daemon, Signal::SIGHUP);
    notify.until("RELOADING=1", |n| n.has("RELOADING=1")).await;
    notify
        .until("READY=1 after the removal", |n| n.has("READY=1"))
        .await;
    let mut fresh = GpsdClient::connect(gpsd_port).await;
    let gone = fresh.ask("?DEVICES;", "DEVICES").await;
    assert_eq!(device_paths(&gone), [gps1.display().to_string()]);
    let poll = fresh.ask("?POLL;", "POLL").await;
    assert_eq!(
        polled_devices(&poll),
        [gps1.display().to_string()],
        "{poll}"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        text.matches("gpsd protocol listening").count(),
        1,
        "the gpsd sink restarted on a sensor-only reload:\n{text}"
    );
    signal(&daemon, Signal::SIGTERM);
    let status = exit_status(&mut daemon).await;
    assert!(status.success(), "exit {status}");
}

/// Every defective file the hostile-input review found, each sent with
/// SIGHUP to a running daemon: refused at its key (file:line), the daemon
/// alive, its stream client getting every frame (contiguous seq), its
/// sensor never restarted, and the running configuration kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_each_defective_file_keeps_the_daemon_its_clients_and_its_configuration() {
    let dir = tempfile::Builder::new()
        .prefix("dronetel-reload-bad-")
        .tempdir()
        .unwrap();
    let sim = Simulator::start(SimOptions::new(dir.path().join("dev")))
        .await
        .unwrap();
    let gps = sim.gps().link();
    let port = free_port();
    let good = config(port, &[("gps", &gps)]);
    let cfg = dir.path().join("dronetel.toml");
    std::fs::write(&cfg, &good).unwrap();
    let (log, mut notify, mut daemon) = start_ready(dir.path(), &cfg).await;
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut client = Client::connect(port).await;
    client
        .until("gps ONLINE", |f| {
            f.sensor == "gps" && state(f) == Some(SensorState::Online)
        })
        .await;

    let udp = |rate: &str| {
        format!("{good}\n[udp]\ntarget = \"127.0.0.1:9\"\nmax_rate = {{ gps = {rate} }}\n")
    };
    let missing = dir.path().join("no-such-dir").join("s.sock");
    let cases: Vec<(&str, String, &str)> = vec![
        ("max_rate 1e-300", udp("1e-300"), "udp.max_rate.gps"),
        ("max_rate 5e-324", udp("5e-324"), "udp.max_rate.gps"),
        (
            "health_interval 1ns",
            good.replace("health_interval = \"300ms\"", "health_interval = \"1ns\""),
            "daemon.health_interval",
        ),
        (
            "duplicate device path",
            config(port, &[("gps", &gps), ("gps2", &gps)]),
            "sensor[1].path",
        ),
        (
            "unix socket in a missing directory",
            format!("{good}unix = \"{}\"\n", missing.display()),
            "stream.unix",
        ),
    ];
    for (i, (what, text, key)) in cases.iter().enumerate() {
        std::fs::write(&cfg, text).unwrap();
        signal(&daemon, Signal::SIGHUP);
        notify.until("RELOADING=1", |n| n.has("RELOADING=1")).await;
        notify
            .until("READY=1 after the refusal", |n| n.has("READY=1"))
            .await;
        let all = log_text();
        let refusals: Vec<&str> = all
            .lines()
            .filter(|l| l.contains("reload refused"))
            .collect();
        assert_eq!(refusals.len(), i + 1, "{what}: not refused:\n{all}");
        let line = refusals[i];
        assert!(
            line.contains(&format!("{}:", cfg.display())) && line.contains(&format!("`{key}`")),
            "{what}: {line}"
        );
        assert!(daemon.try_wait().unwrap().is_none(), "{what}: daemon died");
        client.read(20).await;
        client.assert_contiguous();
        eprintln!("{what}: {line}");
    }
    assert!(
        !missing.parent().unwrap().exists(),
        "a directory was created"
    );
    // The running configuration is the first one: a new client gets gps
    // and nothing else, and the sensor never restarted.
    let mut fresh = Client::connect(port).await;
    fresh
        .until("gps from a new client", |f| {
            f.sensor == "gps" && state(f).is_none()
        })
        .await;
    fresh.read(20).await;
    assert!(fresh.all.iter().all(|f| f.sensor == "gps"));
    client.assert_never_restarted("gps");
    signal(&daemon, Signal::SIGTERM);
    let status = exit_status(&mut daemon).await;
    assert!(status.success(), "exit {status}; log:\n{}", log_text());
}
