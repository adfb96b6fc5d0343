//! gpsd (the reference daemon) reading a pty, with a `gpspipe -w` JSON
//! watcher: started in the foreground (`-N`), polling without waiting for a
//! client (`-n`), read-only (`-b`: never writes to the "receiver"), at a
//! fixed speed (`-s`), with a private control socket (`-F`) and port (`-S`).
//! Two releases: the gpsd on the PATH (Debian 12's 3.22, which
//! `scripts/bench.sh` installs) and Debian 13's 3.25, unpacked into a
//! private folder by `dronetel_testkit::debian` as the capture test does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dronetel_testkit::debian;

/// gpsd and its watcher; both killed when dropped.
#[derive(Debug)]
pub struct Gpsd {
    gpsd: Child,
    watcher: Watcher,
}

/// A `gpspipe -w` on a gpsd port (gpsd's or dronetel's `[gpsd]`) counting
/// the TPV reports it receives; killed when dropped.
#[derive(Debug)]
pub struct Watcher {
    pipe: Child,
    tpv: Arc<AtomicU64>,
}

impl Watcher {
    /// Waits up to 10 s for `port` to listen on loopback, then starts
    /// `gpspipe -w` on it.
    pub fn start(port: u16) -> anyhow::Result<Watcher> {
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(Instant::now() < until, "nothing listens on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut pipe = Command::new("gpspipe")
            .args(["-w", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting gpspipe -w")?;
        let out = pipe.stdout.take().context("gpspipe stdout")?;
        let tpv = Arc::new(AtomicU64::new(0));
        let count = tpv.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("\"class\":\"TPV\"") {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Ok(Watcher { pipe, tpv })
    }

    /// TPV reports received so far.
    pub fn tpv_reports(&self) -> u64 {
        self.tpv.load(Ordering::Relaxed)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.pipe.kill();
        let _ = self.pipe.wait();
    }
}

/// True when `gpsd` and `gpspipe` are on the PATH.
pub fn available() -> bool {
    ["gpsd", "gpspipe"].iter().all(|b| {
        Command::new(b)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
}

/// A gpsd release to run, and how the tables name it.
#[derive(Debug, Clone)]
pub struct Program {
    program: debian::Program,
    /// e.g. "gpsd 3.25 (Debian 13)".
    pub label: String,
}

impl Program {
    /// The `gpsd` on the PATH.
    pub fn path() -> Program {
        let program = debian::Program::plain("gpsd");
        let release = program.gpsd_release().unwrap_or_else(|| "?".into());
        Program {
            program,
            label: format!("gpsd {release}"),
        }
    }

    /// Debian 13's gpsd, downloaded and unpacked under `target/tmp` (shared
    /// with the capture test) when missing; `None`, with the reason
    /// printed, when it cannot be fetched (no network, not Debian).
    pub fn debian_13() -> Option<Program> {
        let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
        let root = PathBuf::from(target).join("tmp");
        let Ok(program) = std::panic::catch_unwind(|| debian::gpsd_debian_13(&root)) else {
            eprintln!("Debian 13's gpsd could not be unpacked: its comparison is left out");
            return None;
        };
        let release = program.gpsd_release().unwrap_or_else(|| "?".into());
        Some(Program {
            program,
            label: format!("gpsd {release} (Debian 13)"),
        })
    }
}

impl Gpsd {
    /// Starts the gpsd on the PATH on `device` and, once it listens,
    /// `gpspipe -w` on it; `dir` holds the control socket and gpsd's log.
    pub fn start(dir: &Path, device: &Path) -> anyhow::Result<Gpsd> {
        Gpsd::start_program(&Program::path(), dir, device)
    }

    /// As [`Gpsd::start`], with gpsd release `program`.
    pub fn start_program(program: &Program, dir: &Path, device: &Path) -> anyhow::Result<Gpsd> {
        let port = crate::free_port().context("picking a free port for gpsd")?;
        let log = std::fs::File::create(dir.join("gpsd.log")).context("creating gpsd.log")?;
        let gpsd = program
            .program
            .command()
            .args(["-N", "-n", "-b", "-s", "115200", "-F"])
            .arg(dir.join("gpsd.sock"))
            .args(["-S", &port.to_string()])
            .arg(device)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log")?)
            .stderr(log)
            .spawn()
            .context("starting gpsd")?;
        let watcher = Watcher::start(port).context("gpsd's watcher")?;
        Ok(Gpsd { gpsd, watcher })
    }

    /// gpsd's process id.
    pub fn pid(&self) -> u32 {
        self.gpsd.id()
    }

    /// Its `gpspipe -w` watcher.
    pub fn watcher(&self) -> &Watcher {
        &self.watcher
    }
}

impl Drop for Gpsd {
    fn drop(&mut self) {
        let _ = self.gpsd.kill();
        let _ = self.gpsd.wait();
    }
}
