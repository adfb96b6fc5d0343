//! The recording writer thread: chunk timer, rotation, free-space floor.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use dronetel_proto::v1::Frame;

use super::config::RecordConfig;
use super::file::{file_name, RecordingFile};
use crate::bus::Published;
use crate::sink::stats::SinkStats;

/// Longest a message waits in an open chunk.
pub(crate) const CHUNK_AGE: Duration = Duration::from_secs(1);
/// How often recording re-checks free space while stopped for it.
const SPACE_RETRY: Duration = Duration::from_secs(10);

pub(crate) struct Writer {
    config: RecordConfig,
    vehicle: String,
    stats: Arc<SinkStats>,
    file: Option<(RecordingFile, Instant)>,
    /// When the open chunk got its first message.
    chunk_since: Option<Instant>,
    /// Log time (ns) of the open chunk's first message.
    chunk_first_log: Option<u64>,
    /// Set while recording is stopped for lack of space: when to look again.
    no_space_until: Option<Instant>,
    files: u32,
}

/// Free bytes for unprivileged users on the file system of `dir`.
pub(crate) fn free_space(dir: &Path) -> std::io::Result<u64> {
    let st = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok(u64::from(st.blocks_available()) * u64::from(st.fragment_size()))
}

impl Writer {
    pub(crate) fn new(config: RecordConfig, vehicle: String, stats: Arc<SinkStats>) -> Self {
        Self {
            config,
            vehicle,
            stats,
            file: None,
            chunk_since: None,
            chunk_first_log: None,
            no_space_until: None,
            files: 0,
        }
    }

    /// Writes what arrives until every sender is gone, then finishes.
    pub(crate) fn run(mut self, rx: Receiver<(Published, Bytes)>) {
        loop {
            let wait = self.chunk_since.map_or(Duration::from_secs(3600), |t| {
                CHUNK_AGE.saturating_sub(t.elapsed())
            });
            match rx.recv_timeout(wait) {
                Ok((p, data)) => self.write(p.frame(), &data),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.chunk_since.is_some_and(|t| t.elapsed() >= CHUNK_AGE) {
                self.end_chunk();
            }
        }
        self.close("shutdown");
    }

    fn write(&mut self, frame: &Frame, data: &[u8]) {
        // A chunk never spans a second of log time, even when frames
        // waited in the queue.
        let log_time = super::file::times(frame).0;
        if self
            .chunk_first_log
            .is_some_and(|t| log_time.saturating_sub(t) >= CHUNK_AGE.as_nanos() as u64)
        {
            self.end_chunk();
        }
        if self.file.is_none() && !self.open() {
            SinkStats::add(&self.stats.dropped, 1);
            return;
        }
        let Some((file, _)) = self.file.as_mut() else {
            return;
        };
        match file.write(frame, data) {
            Ok(()) => {
                SinkStats::add(&self.stats.sent, 1);
                self.chunk_since.get_or_insert_with(Instant::now);
                self.chunk_first_log.get_or_insert(log_time);
            }
            Err(e) => {
                SinkStats::add(&self.stats.errors, 1);
                tracing::error!(error = %e, "recording write failed: file closed");
                self.close("write error");
            }
        }
    }

    /// Opens a new file unless free space is under the floor.
    fn open(&mut self) -> bool {
        if self.no_space_until.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        if !self.space_ok() {
            return false;
        }
        self.files += 1;
        let path = self
            .config
            .dir
            .join(file_name(&self.vehicle, SystemTime::now(), self.files));
        match RecordingFile::create(&path, self.config.compression, self.config.foxglove) {
            Ok(f) => {
                tracing::info!(path = %path.display(), "recording to a new file");
                self.file = Some((f, Instant::now()));
                true
            }
            Err(e) => {
                SinkStats::add(&self.stats.errors, 1);
                tracing::error!(error = %e, retry_in = ?SPACE_RETRY, "cannot create recording file");
                self.no_space_until = Some(Instant::now() + SPACE_RETRY);
                false
            }
        }
    }

    /// True when free space is at least the floor; logs the change.
    fn space_ok(&mut self) -> bool {
        let free = free_space(&self.config.dir).unwrap_or(u64::MAX);
        let ok = free >= self.config.min_free_space;
        let was_stopped = self.no_space_until.is_some();
        if ok && was_stopped {
            tracing::info!(
                free,
                floor = self.config.min_free_space,
                "free space back above the floor: recording resumes"
            );
            self.no_space_until = None;
        } else if !ok {
            if !was_stopped {
                tracing::warn!(
                    dir = %self.config.dir.display(), free, floor = self.config.min_free_space,
                    "free space below the floor: recording stopped"
                );
            }
            self.no_space_until = Some(Instant::now() + SPACE_RETRY);
        }
        ok
    }

    /// Closes the open chunk; rotates or stops the file when due.
    fn end_chunk(&mut self) {
        self.chunk_since = None;
        self.chunk_first_log = None;
        let Some((file, opened)) = self.file.as_mut() else {
            return;
        };
        if let Err(e) = file.flush() {
            SinkStats::add(&self.stats.errors, 1);
            tracing::error!(error = %e, "recording flush failed: file closed");
            self.close("flush error");
            return;
        }
        let (size, age) = (file.size(), opened.elapsed());
        if size >= self.config.max_file_size || age >= self.config.max_file_duration {
            self.close("rotation");
        } else if !self.space_ok() {
            self.close("free space below the floor");
        }
    }

    fn close(&mut self, why: &str) {
        self.chunk_since = None;
        self.chunk_first_log = None;
        if let Some((file, _)) = self.file.take() {
            match file.finish() {
                Ok((path, messages)) => {
                    tracing::info!(path = %path.display(), messages, reason = why, "recording file finished")
                }
                Err(e) => {
                    SinkStats::add(&self.stats.errors, 1);
                    tracing::error!(error = %e, "cannot finish recording file");
                }
            }
        }
    }
}
