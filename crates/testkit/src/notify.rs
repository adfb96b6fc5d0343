//! A service manager's notification socket, bound for real: what the daemon
//! tells systemd (`READY=1`, `STATUS=`, `WATCHDOG=1`) is read as sent.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::net::UnixDatagram;

use crate::DEADLINE;

/// One datagram the daemon sent, split into its `KEY=value` lines.
#[derive(Debug, Clone)]
pub struct Notice {
    /// When it arrived.
    pub at: Instant,
    /// Its `KEY=value` lines.
    pub lines: Vec<String>,
}

impl Notice {
    /// True when one line is exactly `line` (`READY=1`).
    pub fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }
    /// The value of `key` (`STATUS`), if the notice sets it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
    }
}

/// A service manager's notification socket, bound for real.
pub struct NotifySocket {
    /// Its path, for `NOTIFY_SOCKET`.
    pub path: PathBuf,
    sock: UnixDatagram,
    /// Every notice read so far, in order.
    pub seen: Vec<Notice>,
}

impl NotifySocket {
    /// Binds `notify.sock` in `dir`.
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
