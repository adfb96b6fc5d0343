//! The daemon in the test's own process, reading firmware-sim's GPS on a
//! real pty: tests of the output sinks read the sinks' counters and call
//! the daemon's API, which the binary in a child process would hide.

use std::net::SocketAddr;

use dronetel::{Config, Daemon};
use firmware_sim::{SimOptions, Simulator};

use crate::sections::config_text;
use crate::{temp_dir, TempDir};

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
}
