//! The daemon under test as the user runs it: firmware-sim's devices on
//! real pseudo-terminals, the real `dronetel` binary as a child process
//! reading them, and the simulator's truth collected to compare with what
//! a stream client receives.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dronetel_proto::tracker::TrackerReport;
use dronetel_proto::v1::{frame::Body, Frame, GpsFix};
use firmware_sim::{DeviceHandle, FcTruth, GpsProtocol, SimOptions, Simulator};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio_util::codec::FramedRead;

use dronetel_proto::FrameCodec;

use crate::client::Client;
use crate::frames::is_position_fix;
use crate::{temp_dir, TempDir, DEADLINE};

/// Knobs of one end-to-end setup.
pub struct Setup {
    /// The simulated GPS's cycle rate.
    pub gps_rate_hz: f64,
    /// Every sensor's `stale_after`.
    pub stale_after: &'static str,
    /// `[stream] max_clients`.
    pub max_clients: u32,
    /// `[stream] tcp`; loopback with a port of the kernel's choice when
    /// `None` (the tests read the Unix socket).
    pub tcp: Option<String>,
    /// `[daemon] shutdown_grace`.
    pub shutdown_grace: &'static str,
    /// Which simulated devices the daemon reads ([`Kind`]s).
    pub sensors: &'static [Kind],
    /// Flight time elapsed when the simulator starts.
    pub flight_offset: Duration,
    /// Extra lines of the flight controller's `[[sensor]]` section.
    pub fc_options: &'static str,
    /// What the simulated GPS speaks (`--gps-protocol`).
    pub gps_protocol: GpsProtocol,
    /// The GPS sensor's `protocol` in the daemon (`"nmea"`, `"ublox"`).
    pub gps_decoder: &'static str,
    /// Extra lines of the GPS's `[[sensor]]` section.
    pub gps_options: &'static str,
    /// Extra lines of the `[daemon]` section.
    pub daemon_options: &'static str,
    /// Extra lines of the `[stream]` section.
    pub stream_options: &'static str,
    /// Sections appended to the configuration (`[metrics]`, `[record]`).
    pub extra_sections: String,
    /// How the daemon reaches the simulated flight controller.
    pub fc_link: FcLink,
}

/// How the daemon reaches the simulated flight controller: its pty, or
/// the simulator's SITL-like network outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FcLink {
    /// `DIR/fc`, a serial device.
    #[default]
    Pty,
    /// `udp://127.0.0.1:PORT`: the daemon binds, the simulator sends there
    /// (`--fc-udp`).
    Udp,
    /// `tcp://ADDR`: the daemon connects to the simulator's listener
    /// (`--fc-tcp-listen`).
    Tcp,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            gps_rate_hz: 10.0,
            stale_after: "1s",
            max_clients: 8,
            tcp: None,
            shutdown_grace: "3s",
            sensors: &[Kind::Gps],
            flight_offset: Duration::ZERO,
            fc_options: "",
            gps_protocol: GpsProtocol::Nmea,
            gps_decoder: "nmea",
            gps_options: "",
            daemon_options: "",
            stream_options: "",
            extra_sections: String::new(),
            fc_link: FcLink::Pty,
        }
    }
}

/// The three kinds of simulated sensor, each configured under its device's
/// name (`gps`, `fc`, `tracker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The NMEA GPS receiver.
    Gps,
    /// The MAVLink flight controller.
    Fc,
    /// The object tracker.
    Tracker,
}

impl Kind {
    /// Every kind, for tests that run once per kind.
    pub const ALL: &'static [Kind] = &[Kind::Gps, Kind::Fc, Kind::Tracker];

    /// Sensor name in the daemon = device name in the simulator.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gps => "gps",
            Kind::Fc => "fc",
            Kind::Tracker => "tracker",
        }
    }

    /// The `[[sensor]]` section of this kind for the device at `path` (a
    /// serial device, with a baud, unless it is a `tcp://` or `udp://` URL).
    fn section(self, path: &str, stale: &str, extra: &str, gps_decoder: &str) -> String {
        let (kind, protocol, baud) = match self {
            Kind::Gps => ("gps", gps_decoder, 115_200),
            Kind::Fc => ("flight_controller", "mavlink", 921_600),
            Kind::Tracker => ("tracking", "tracker", 921_600),
        };
        let baud = if path.contains("://") {
            String::new()
        } else {
            format!("baud = {baud}\n")
        };
        format!(
            "[[sensor]]\nname = \"{}\"\nkind = \"{kind}\"\nprotocol = \"{protocol}\"\npath = \"{path}\"\n{baud}stale_after = \"{stale}\"\n{extra}\n\n",
            self.name(),
        )
    }

    /// True for a frame carrying this kind's data (not health).
    pub fn is_reading(self, f: &Frame) -> bool {
        f.sensor == self.name()
            && match (self, &f.body) {
                (Kind::Gps, _) => is_position_fix(f),
                (Kind::Fc, Some(Body::Battery(_) | Body::Gps(_))) => true,
                (Kind::Tracker, Some(Body::Tracking(_))) => true,
                _ => false,
            }
    }
}

/// The simulator, the daemon process and the paths they share.
pub struct Harness {
    /// Every cycle the simulated GPS wrote, by fix time in milliseconds,
    /// collected from before the daemon starts.
    pub truth: Arc<Mutex<HashMap<i64, GpsFix>>>,
    /// Every flight-controller tick written, in order.
    pub fc_truth: Arc<Mutex<Vec<FcTruth>>>,
    /// Every tracker report written, by frame counter.
    pub tracker_truth: Arc<Mutex<HashMap<u32, TrackerReport>>>,
    /// Scratch directory: links, config, socket, log.
    pub dir: TempDir,
    /// The simulated devices.
    pub sim: Simulator,
    /// The daemon process.
    pub daemon: Child,
    /// The stream sink's Unix socket.
    pub unix: PathBuf,
    /// The daemon's stderr.
    pub log: PathBuf,
}

impl Harness {
    /// Starts the simulator, then the binary `bin` (the daemon under test)
    /// on a configuration made from `setup`; returns once its stream
    /// socket exists.
    pub async fn start(bin: &str, tag: &str, setup: Setup) -> Self {
        let dir = temp_dir(tag);
        let links = dir.path().join("dev");
        let mut opts = SimOptions::new(links.clone());
        opts.gps_rate_hz = setup.gps_rate_hz;
        opts.flight_offset = setup.flight_offset;
        opts.gps_protocol = setup.gps_protocol;
        let loopback = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match setup.fc_link {
            FcLink::Pty => {}
            FcLink::Udp => {
                let free = std::net::UdpSocket::bind(loopback(0)).unwrap();
                opts.fc_udp = Some(free.local_addr().unwrap());
            }
            FcLink::Tcp => opts.fc_tcp_listen = Some(loopback(0)),
        }
        let fc_udp = opts.fc_udp;
        let sim = Simulator::start(opts).await.unwrap();
        let fc_path = match (fc_udp, sim.fc().tcp_listen_addr()) {
            (Some(udp), _) => format!("udp://{udp}"),
            (None, Some(tcp)) => format!("tcp://{tcp}"),
            (None, None) => links.join("fc").display().to_string(),
        };
        let truth: Arc<Mutex<HashMap<i64, GpsFix>>> = Arc::default();
        let sink = truth.clone();
        record_truth(sim.gps().subscribe_truth(), move |t| {
            let ms = t
                .time
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            sink.lock().unwrap().insert(ms, t.fix);
        });
        let fc_truth: Arc<Mutex<Vec<FcTruth>>> = Arc::default();
        let sink = fc_truth.clone();
        record_truth(sim.fc().subscribe_truth(), move |t| {
            sink.lock().unwrap().push(t)
        });
        let tracker_truth: Arc<Mutex<HashMap<u32, TrackerReport>>> = Arc::default();
        let sink = tracker_truth.clone();
        record_truth(sim.tracker().subscribe_truth(), move |t| {
            sink.lock().unwrap().insert(t.report.frame, t.report);
        });
        let unix = dir.path().join("stream.sock");
        // Port 0: a port picked free beforehand could be taken by another
        // socket before the daemon binds it.
        let tcp = setup
            .tcp
            .clone()
            .unwrap_or_else(|| "127.0.0.1:0".to_owned());
        let config = format!(
            r#"
[daemon]
vehicle_id = "e2e"
shutdown_grace = "{grace}"
{daemon_options}

{sensors}[stream]
tcp = "{tcp}"
unix = "{unix}"
max_clients = {max}
{stream_options}

{extra_sections}
"#,
            grace = setup.shutdown_grace,
            sensors = setup
                .sensors
                .iter()
                .map(|k| {
                    let extra = match k {
                        Kind::Fc => setup.fc_options,
                        Kind::Gps => setup.gps_options,
                        Kind::Tracker => "",
                    };
                    let path = match k {
                        Kind::Fc => fc_path.clone(),
                        _ => links.join(k.name()).display().to_string(),
                    };
                    k.section(&path, setup.stale_after, extra, setup.gps_decoder)
                })
                .collect::<String>(),
            unix = unix.display(),
            max = setup.max_clients,
            daemon_options = setup.daemon_options,
            stream_options = setup.stream_options,
            extra_sections = setup.extra_sections,
        );
        let cfg_path = dir.path().join("dronetel.toml");
        std::fs::write(&cfg_path, config).unwrap();
        let log = dir.path().join("daemon.log");
        let daemon = Command::new(bin)
            .args(["--allow-root", "run", "--config"])
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
            fc_truth,
            tracker_truth,
            dir,
            sim,
            daemon,
            unix,
            log,
        };
        h.wait_for_socket().await;
        h
    }

    /// Starts the simulator and the binary `bin` with only the sensors of
    /// `sections` (text of `[[sensor]]` tables, e.g. on network paths).
    pub async fn with_sensor_sections(bin: &str, tag: &str, sections: String) -> Self {
        let setup = Setup {
            sensors: &[],
            extra_sections: sections,
            ..Setup::default()
        };
        Self::start(bin, tag, setup).await
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

    /// The controls of the simulated device of `kind`.
    pub fn device(&self, kind: Kind) -> DeviceHandle {
        match kind {
            Kind::Gps => self.sim.gps().handle(),
            Kind::Fc => self.sim.fc().handle(),
            Kind::Tracker => self.sim.tracker().handle(),
        }
    }

    /// The address of the daemon's listener that logged `event` (e.g.
    /// `metrics listening`): for listeners configured on port 0.
    pub async fn logged_addr(&self, event: &str) -> std::net::SocketAddr {
        crate::ports::logged_addr(&self.log, event).await
    }

    /// What the daemon logged so far, for assertions and failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM to the daemon and reads `client` to its end. `first`
    /// is the seq of the last frame read before the signal (the daemon may
    /// stop before it publishes another), so the returned seqs start there.
    pub async fn sigterm_and_drain(&mut self, client: &mut Client, first: u64) -> Stopped {
        let pid = Pid::from_raw(self.daemon.id().unwrap() as i32);
        kill(pid, Signal::SIGTERM).unwrap();
        let signalled = Instant::now();
        let mut seqs = vec![first];
        while let Some(f) = client.next().await {
            seqs.push(f.seq);
        }
        let status = tokio::time::timeout(DEADLINE, self.daemon.wait())
            .await
            .unwrap()
            .unwrap();
        Stopped {
            status,
            took: signalled.elapsed(),
            seqs,
        }
    }

    /// A stream client on the Unix socket. The socket file appears at
    /// bind(), a moment before listen(): until then a connect is refused,
    /// so refusals are retried up to [`DEADLINE`].
    pub async fn client(&self) -> Client {
        let t0 = Instant::now();
        let s = loop {
            match UnixStream::connect(&self.unix).await {
                Ok(s) => break s,
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionRefused
                        && t0.elapsed() < DEADLINE =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => panic!("connect {}: {e}", self.unix.display()),
            }
        };
        Client {
            frames: FramedRead::new(s, FrameCodec::default()),
        }
    }

    /// A Unix-socket client the daemon has already subscribed to the bus:
    /// returns once the daemon logged the connection. For tests that then
    /// send a bounded input (a capture) and expect every frame it makes; a
    /// plain [`Harness::client`] may still wait in the accept backlog while
    /// the daemon publishes the first of them.
    pub async fn subscribed_client(&self) -> Client {
        let connected = |log: &str| {
            log.lines()
                .filter(|l| l.contains("stream client connected") && l.contains("peer=unix#"))
                .count()
        };
        let before = connected(&self.log_text());
        let client = self.client().await;
        let t0 = Instant::now();
        while connected(&self.log_text()) <= before {
            assert!(
                t0.elapsed() < DEADLINE,
                "the daemon never logged the stream client; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client
    }
}

/// Feeds every value of the simulator's truth channel `rx` to `record`, on
/// a task of its own, until the simulator stops. A recorder starved long
/// enough to fall behind the channel's buffer loses the values it missed,
/// and goes on with the next ones (ending at the first lag would leave
/// every later comparison without truth).
fn record_truth<T: Clone + Send + 'static>(
    mut rx: tokio::sync::broadcast::Receiver<T>,
    mut record: impl FnMut(T) + Send + 'static,
) {
    use tokio::sync::broadcast::error::RecvError;
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(t) => record(t),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// What a SIGTERM to the daemon led to.
pub struct Stopped {
    /// The daemon's exit status.
    pub status: std::process::ExitStatus,
    /// From the signal to the exit.
    pub took: Duration,
    /// The seqs the client read, from the last one before the signal.
    pub seqs: Vec<u64>,
}

/// Fails the test when the daemon's log shows a panic: a fault it survived
/// by restarting a task is still a bug.
pub fn assert_no_panic(h: &Harness) {
    let log = h.log_text();
    assert!(
        !log.contains("panicked") && !log.contains("RUST_BACKTRACE"),
        "panic in the daemon log:\n{log}"
    );
}
