//! `dronetel replay`: re-publishes a recording on a bus, so every configured
//! sink (stream clients included) gets its frames again: unchanged (same
//! `seq`, `received_at` and body), in file order, paced by their log times.
//! Channels of other schemas (Foxglove's well-known ones) are skipped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dronetel_proto::v1::Frame;
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Recorded time divided by this factor (1.0: as recorded).
    Speed(f64),
    /// No waiting at all.
    AsFastAsPossible,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Reading the file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not readable MCAP.
    #[error("{}: {source}", path.display())]
    Mcap {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: mcap::McapError,
    },
    /// A message is not a dronetel frame.
    #[error("{}: message {index} on {topic} is not a dronetel Frame: {source}", path.display())]
    NotAFrame {
        /// The file.
        path: PathBuf,
        /// Position of the message in the file.
        index: u64,
        /// Its channel.
        topic: String,
        /// Cause.
        source: prost::DecodeError,
    },
}

/// Publishes every frame of `path` on `bus`, paced; returns how many. Stops
/// early (without error) when `token` is cancelled. Unlike a sensor, replay
/// waits while the slowest subscriber has `max_depth` frames unread, so
/// even `AsFastAsPossible` loses nothing.
pub async fn replay(
    path: &Path,
    bus: &Bus,
    pace: Pace,
    max_depth: usize,
    token: &CancellationToken,
) -> Result<u64, ReplayError> {
    let data = tokio::fs::read(path)
        .await
        .map_err(|source| ReplayError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let mc = |source| ReplayError::Mcap {
        path: path.to_path_buf(),
        source,
    };
    let start = tokio::time::Instant::now();
    let mut first: Option<u64> = None;
    let mut n = 0;
    for m in mcap::MessageStream::new(&data).map_err(mc)? {
        let m = m.map_err(mc)?;
        // Foxglove's well-known channels are made from the frames: only
        // the frames are re-published.
        if m.channel.schema.as_ref().map(|s| s.name.as_str()) != Some(super::SCHEMA_NAME) {
            continue;
        }
        let frame = Frame::decode(&m.data[..]).map_err(|source| ReplayError::NotAFrame {
            path: path.to_path_buf(),
            index: n,
            topic: m.channel.topic.clone(),
            source,
        })?;
        if let Pace::Speed(speed) = pace {
            let t0 = *first.get_or_insert(m.log_time);
            let offset = Duration::from_nanos(m.log_time.saturating_sub(t0)).div_f64(speed);
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tokio::time::sleep_until(start + offset) => {}
            }
        } else if token.is_cancelled() {
            break;
        }
        while bus.depth() >= max_depth.max(1) {
            if token.is_cancelled() {
                return Ok(n);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        bus.republish(frame);
        n += 1;
    }
    Ok(n)
}
