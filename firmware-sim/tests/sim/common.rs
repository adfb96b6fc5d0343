//! Helpers of the pty tests: a scratch directory and a device reader.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

/// Generous deadline for anything on real I/O.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fwsim-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a reader thread saw.
#[derive(Debug)]
pub(crate) enum Event {
    Bytes(Vec<u8>),
    /// Read returned an error (EIO after a hang-up) or EOF (`None`).
    Ended(Option<std::io::Error>),
}

/// Reads a device like a serial port user would: a plain blocking file
/// (opened O_NOCTTY so the pty never becomes our controlling terminal) on
/// its own thread, forwarding what it reads.
pub(crate) struct Reader {
    pub(crate) events: mpsc::UnboundedReceiver<Event>,
    pub(crate) total: Arc<AtomicU64>,
    pending: Vec<u8>,
}

impl Reader {
    pub(crate) fn open(path: &Path) -> Reader {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
            .open(path)
            .unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        let total = Arc::new(AtomicU64::new(0));
        let counter = total.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match file.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Event::Ended(None));
                        return;
                    }
                    Ok(n) => {
                        counter.fetch_add(n as u64, Ordering::SeqCst);
                        if tx.send(Event::Bytes(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Event::Ended(Some(e)));
                        return;
                    }
                }
            }
        });
        Reader {
            events,
            total,
            pending: Vec::new(),
        }
    }

    /// The next complete line (without CRLF), within the deadline.
    pub(crate) async fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return String::from_utf8(line).unwrap().trim_end().to_string();
            }
            match tokio::time::timeout(DEADLINE, self.events.recv()).await {
                Ok(Some(Event::Bytes(b))) => self.pending.extend_from_slice(&b),
                other => panic!("no line from the device: {other:?}"),
            }
        }
    }

    /// Exactly `n` bytes, within the deadline.
    pub(crate) async fn bytes(&mut self, n: usize) -> Vec<u8> {
        while self.pending.len() < n {
            match tokio::time::timeout(DEADLINE, self.events.recv()).await {
                Ok(Some(Event::Bytes(b))) => self.pending.extend_from_slice(&b),
                other => panic!(
                    "device gave {} of {n} bytes, then {other:?}",
                    self.pending.len()
                ),
            }
        }
        self.pending.drain(..n).collect()
    }

    /// The next complete cycle: the lines from an RMC up to its ZDA.
    pub(crate) async fn cycle(&mut self) -> Vec<String> {
        let mut line = self.line().await;
        while !line.starts_with("$GNRMC") {
            line = self.line().await;
        }
        let mut cycle = vec![line];
        while !cycle.last().unwrap().starts_with("$GNZDA") {
            cycle.push(self.line().await);
        }
        cycle
    }

    /// Waits for the read to fail or hit EOF, discarding data.
    pub(crate) async fn ended(&mut self) -> Option<std::io::Error> {
        loop {
            match tokio::time::timeout(DEADLINE, self.events.recv()).await {
                Ok(Some(Event::Bytes(_))) => {}
                Ok(Some(Event::Ended(e))) => return e,
                other => panic!("device read did not end: {other:?}"),
            }
        }
    }
}

/// Checks `$…*HH` of a line independently of the encoder; returns the body.
pub(crate) fn checked(line: &str) -> &str {
    let body = line.strip_prefix('$').unwrap();
    let (body, sum) = body.split_once('*').unwrap();
    let expect = body.bytes().fold(0u8, |a, b| a ^ b);
    assert_eq!(
        u8::from_str_radix(sum, 16).unwrap(),
        expect,
        "checksum of {line}"
    );
    body
}

/// Polls `cond` until it holds, failing after the deadline.
pub(crate) async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
