//! Helpers of the service tests (notify, reload, metrics): a real sd_notify
//! socket, the real binary with a chosen environment, config text.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::UnixDatagram;
use tokio::process::{Child, Command};

/// Generous deadline for anything that crosses real I/O.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// One datagram the daemon sent, split into its `KEY=value` lines.
#[derive(Debug, Clone)]
pub struct Notice {
    pub at: Instant,
    pub lines: Vec<String>,
}

impl Notice {
    pub fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
    }
}

/// A service manager's notification socket, bound for real.
pub struct NotifySocket {
    pub path: PathBuf,
    sock: UnixDatagram,
    pub seen: Vec<Notice>,
}

impl NotifySocket {
    pub fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        Self {
            path,
            sock,
            seen: Vec::new(),
        }
    }

    /// The next datagram, or `None` after `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Notice> {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(within, self.sock.recv(&mut buf))
            .await
            .ok()?
            .unwrap();
        let text = String::from_utf8(buf[..n].to_vec()).unwrap();
        let notice = Notice {
            at: Instant::now(),
            lines: text.lines().map(str::to_owned).collect(),
        };
        self.seen.push(notice.clone());
        Some(notice)
    }

    /// Reads notices until one satisfies `pred`; panics after [`DEADLINE`].
    pub async fn until(&mut self, what: &str, mut pred: impl FnMut(&Notice) -> bool) -> Notice {
        let t0 = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(t0.elapsed());
            let n = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("no {what} within {DEADLINE:?}; seen {:?}", self.seen));
            if pred(&n) {
                return n;
            }
        }
    }
}

/// A TCP port that was free a moment ago on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `[[sensor]]` section for an NMEA GPS on `path`.
pub fn gps_section(name: &str, path: &Path) -> String {
    format!(
        "\n[[sensor]]\nname = \"{name}\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"{}\"\nbaud = 115200\nstale_after = \"2s\"\n",
        path.display()
    )
}

/// The real binary running `config`, logging to `log`, with `env` added.
pub fn spawn_daemon(config: &Path, log: &Path, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dronetel"));
    cmd.args(["--allow-root", "run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Sends `sig` to the child.
pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, sig).unwrap();
}

/// Waits for the child to exit; panics after [`DEADLINE`].
pub async fn exit_status(child: &mut Child) -> std::process::ExitStatus {
    tokio::time::timeout(DEADLINE, child.wait())
        .await
        .expect("daemon did not exit")
        .unwrap()
}

/// Polls `cond` every 20 ms until it holds; panics after [`DEADLINE`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < DEADLINE, "{what}: not within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
