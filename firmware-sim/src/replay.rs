//! Replay of a capture onto a pty, like gpsd's `gpsfake`: the file's bytes,
//! unchanged, written to `DIR/gps` at a steady pace.
//!
//! The capture is cut into lines (each with its own line ending, comments
//! and junk included). With [`Pacing::Cycle`] the lines are grouped into
//! receiver cycles, a new cycle starting when a sentence carries a UTC time
//! different from the current cycle's; one cycle is written per tick.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::pty::Pty;
use crate::SimError;

/// How a capture is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// One receiver cycle per tick (the capture's own epochs).
    #[default]
    Cycle,
    /// One line per tick.
    Line,
}

/// How to replay a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// Ticks (cycles or lines) per second.
    pub rate_hz: f64,
    /// What one tick writes.
    pub pacing: Pacing,
    /// Start over at the end of the capture, until stopped.
    pub repeat: bool,
    /// How long [`replay`] keeps the pty after the last byte, so a reader
    /// can drain it before the device disappears.
    pub linger: Duration,
}

impl Default for ReplayOptions {
    /// One cycle per second, once, 1 s linger.
    fn default() -> Self {
        ReplayOptions {
            rate_hz: 1.0,
            pacing: Pacing::Cycle,
            repeat: false,
            linger: Duration::from_secs(1),
        }
    }
}

/// Progress of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Bytes written to the pty.
    pub bytes_written: u64,
    /// Ticks (cycles or lines) written.
    pub chunks_written: u64,
    /// Times the whole capture was written.
    pub passes: u64,
    /// The capture was written completely (without `repeat`).
    pub finished: bool,
}

/// A running replay: its pty, linked at `DIR/gps`, and its task.
#[derive(Debug)]
pub struct Replay {
    link: PathBuf,
    progress: watch::Receiver<ReplayStats>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Replay {
    /// Reads the capture, creates the pty and `DIR/gps` (the directory if
    /// missing), and starts writing. Returns once the link exists.
    pub async fn start(
        file: &Path,
        link_dir: &Path,
        opts: ReplayOptions,
    ) -> Result<Replay, SimError> {
        if !(opts.rate_hz > 0.0 && opts.rate_hz.is_finite()) {
            return Err(SimError::InvalidOption(format!(
                "replay rate {} must be positive",
                opts.rate_hz
            )));
        }
        let bytes = tokio::fs::read(file)
            .await
            .map_err(|source| SimError::Capture {
                path: file.to_path_buf(),
                source,
            })?;
        let chunks = match opts.pacing {
            Pacing::Line => lines(&bytes),
            Pacing::Cycle => cycles(&bytes),
        };
        crate::ensure_dir(link_dir)?;
        let link = link_dir.join("gps");
        let pty = Pty::open(&link)?;
        tracing::info!(capture = %file.display(), link = %link.display(), pty = %pty.slave_path().display(), chunks = chunks.len(), "replay started");
        let (tx, progress) = watch::channel(ReplayStats::default());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(pty, bytes, chunks, opts, tx, cancel.clone()));
        Ok(Replay {
            link,
            progress,
            cancel,
            task,
        })
    }

    /// The link the capture is written to.
    pub fn link(&self) -> PathBuf {
        self.link.clone()
    }

    /// Progress so far.
    pub fn stats(&self) -> ReplayStats {
        *self.progress.borrow()
    }

    /// Waits until the capture was written completely (never returns with
    /// `repeat` set, until stopped).
    pub async fn finished(&mut self) -> ReplayStats {
        let _ = self.progress.wait_for(|s| s.finished).await;
        self.stats()
    }

    /// Stops writing, closes the pty and removes the link.
    pub async fn stop(self) -> ReplayStats {
        self.cancel.cancel();
        let _ = self.task.await;
        let stats = *self.progress.borrow();
        stats
    }
}

/// Replays `file` onto `link_dir/gps` until it is written completely (and
/// `linger` has passed) or forever with `repeat`.
pub async fn replay(
    file: &Path,
    link_dir: &Path,
    opts: ReplayOptions,
) -> Result<ReplayStats, SimError> {
    let r = Replay::start(file, link_dir, opts).await?;
    let mut progress = r.progress.clone();
    let _ = r.task.await;
    let stats = *progress.borrow_and_update();
    Ok(stats)
}

async fn run(
    pty: Pty,
    bytes: Vec<u8>,
    chunks: Vec<std::ops::Range<usize>>,
    opts: ReplayOptions,
    progress: watch::Sender<ReplayStats>,
    cancel: CancellationToken,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / opts.rate_hz));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let written = async {
        loop {
            for c in &chunks {
                ticker.tick().await;
                if let Err(e) = pty.write_all(&bytes[c.clone()]).await {
                    tracing::warn!(error = %e, "replay write failed");
                    return;
                }
                progress.send_modify(|s| {
                    s.bytes_written += c.len() as u64;
                    s.chunks_written += 1;
                });
            }
            progress.send_modify(|s| s.passes += 1);
            if !opts.repeat {
                progress.send_modify(|s| s.finished = true);
                tracing::info!("replay finished");
                tokio::time::sleep(opts.linger).await;
                return;
            }
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = written => {}
    }
    drop(pty);
}

/// Byte ranges of the lines of `bytes`, each with its line ending.
fn lines(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push(start..bytes.len());
    }
    out
}

/// Byte ranges of the receiver cycles of `bytes` (see the module docs).
fn cycles(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut current: Option<(std::ops::Range<usize>, Option<&[u8]>)> = None;
    for line in lines(bytes) {
        let time = sentence_time(&bytes[line.clone()]);
        match current.as_mut() {
            Some((range, cycle_time)) => {
                if time.is_some() && cycle_time.is_some() && time != *cycle_time {
                    out.push(range.clone());
                    current = Some((line, time));
                } else {
                    range.end = line.end;
                    if cycle_time.is_none() {
                        *cycle_time = time;
                    }
                }
            }
            None => current = Some((line, time)),
        }
    }
    out.extend(current.map(|(r, _)| r));
    out
}

/// The UTC time field of a sentence that carries one (RMC, GGA, GLL, GNS,
/// ZDA, GST, GBS), if non-empty.
fn sentence_time(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().rposition(|&b| b == b'$')?;
    let body = &line[start + 1..];
    let body = &body[..body.iter().position(|&b| b == b'*').unwrap_or(body.len())];
    let mut fields = body.split(|&b| b == b',');
    let address = fields.next()?;
    let tag = address.get(address.len().checked_sub(3)?..)?;
    let index = match tag {
        b"RMC" | b"GGA" | b"GNS" | b"ZDA" | b"GST" | b"GBS" => 1,
        b"GLL" => 5,
        _ => return None,
    };
    fields.nth(index - 1).filter(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_split_on_time_change_and_keep_every_byte() {
        let text = b"# comment\r\n$GPGGA,120000.00,x*00\r\n$GPGSV,1*00\n$GPRMC,120000.00,A*00\r\n\
$GPGGA,120001.00,x*00\r\njunk\r\n$GPGLL,a,N,b,E,120001.00,A*00\r\n$GPGGA,120002.00*00";
        let c = cycles(text);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].start, 0);
        assert!(text[c[1].clone()].starts_with(b"$GPGGA,120001.00"));
        assert!(text[c[1].clone()].ends_with(b"A*00\r\n"));
        assert_eq!(c[2].end, text.len());
        let joined: Vec<u8> = c.iter().flat_map(|r| text[r.clone()].to_vec()).collect();
        assert_eq!(joined, text);
    }
}
