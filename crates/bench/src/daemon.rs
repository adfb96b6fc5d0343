//! A release `dronetel` started on a generated configuration: the sensors'
//! ptys, one Unix stream socket, logs to a file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// One sensor of the generated configuration.
#[derive(Debug, Clone)]
pub struct SensorSpec {
    /// `name` (also the frames' `sensor`).
    pub name: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// `protocol`.
    pub protocol: &'static str,
    /// The pty link, or a `udp://` / `tcp://` URL (no baud then).
    pub path: PathBuf,
}

/// A running daemon; killed when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its stream socket.
    pub socket: PathBuf,
}

/// The `dronetel` binary: `$DRONETEL_BIN`, else beside this executable.
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("DRONETEL_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let p = exe.with_file_name("dronetel");
    anyhow::ensure!(
        p.exists(),
        "{} not found: build it (cargo build --release -p dronetel) or set DRONETEL_BIN",
        p.display()
    );
    Ok(p)
}

impl Daemon {
    /// Writes `DIR/dronetel.toml` and starts `dronetel run` on it, logging
    /// to `DIR/dronetel.log`; up to `max_clients` clients, the default
    /// per-client queue, and no client ever disconnected for lagging (its
    /// losses show as `seq` gaps instead).
    pub fn start(dir: &Path, sensors: &[SensorSpec], max_clients: usize) -> anyhow::Result<Daemon> {
        Self::start_with(dir, sensors, max_clients, "")
    }

    /// [`start`](Self::start) with `sections` appended to the
    /// configuration (a `[gpsd]` port).
    pub fn start_with(
        dir: &Path,
        sensors: &[SensorSpec],
        max_clients: usize,
        sections: &str,
    ) -> anyhow::Result<Daemon> {
        let socket = dir.join("stream.sock");
        let mut toml = String::from(
            "[daemon]\nvehicle_id = \"bench\"\nshutdown_grace = \"3s\"\nhealth_interval = \"1s\"\n",
        );
        for s in sensors {
            let path = s.path.display().to_string();
            let baud = if path.contains("://") {
                ""
            } else {
                "baud = 115200\n"
            };
            let _ = write!(
                toml,
                "\n[[sensor]]\nname = \"{}\"\nkind = \"{}\"\nprotocol = \"{}\"\npath = \"{path}\"\n{baud}stale_after = \"5s\"\n",
                s.name,
                s.kind,
                s.protocol,
            );
        }
        let _ = write!(
            toml,
            "\n[stream]\nunix = \"{}\"\nmax_clients = {max_clients}\nmax_client_drops = 0\nwrite_timeout = \"30s\"\n",
            socket.display()
        );
        toml.push_str(sections);
        let config = dir.join("dronetel.toml");
        std::fs::write(&config, toml).with_context(|| format!("writing {}", config.display()))?;
        let log = std::fs::File::create(dir.join("dronetel.log")).context("creating the log")?;
        let child = Command::new(binary()?)
            .args(["--allow-root", "run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log")?)
            .stderr(log)
            .spawn()
            .context("starting dronetel")?;
        Ok(Daemon { child, socket })
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
