//! `[record]`: MCAP flight recording.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError, HumanDuration};
use crate::selection::Selection;

/// `[record]` as written (its selection keys are read apart).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    dir: Spanned<PathBuf>,
    max_file_size: Option<Spanned<u64>>,
    max_file_duration: Option<Spanned<HumanDuration>>,
    min_free_space: Option<u64>,
    queue: Option<Spanned<usize>>,
    compression: Option<Spanned<RecordCompression>>,
    foxglove: Option<bool>,
}

/// `[record]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    /// Directory of the recordings (created when missing).
    pub dir: PathBuf,
    /// A file is closed and a new one started past this size, bytes.
    pub max_file_size: u64,
    /// ... or past this duration.
    pub max_file_duration: Duration,
    /// Recording stops while the file system has less free space, bytes.
    pub min_free_space: u64,
    /// Frames queued for the writer thread; beyond, frames are dropped (counted).
    pub queue: usize,
    /// How chunks are compressed.
    pub compression: RecordCompression,
    /// Also record Foxglove's well-known schemas (`<sensor>/fix`,
    /// `<sensor>/log`, `<sensor>/objects`) beside the frame channels.
    pub foxglove: bool,
    /// Filter and rates.
    pub selection: Selection,
}

/// `[record] compression`: how the chunks of a recording are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordCompression {
    /// Uncompressed chunks.
    None,
    /// zstd (needs the `zstd` cargo feature, on by default): telemetry
    /// shrinks several times for little CPU.
    Zstd,
}

impl RecordConfig {
    /// Default `compression`: zstd when built in.
    pub const DEFAULT_COMPRESSION: RecordCompression = if cfg!(feature = "zstd") {
        RecordCompression::Zstd
    } else {
        RecordCompression::None
    };
    /// Default `max_file_size` (256 MiB).
    pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;
    /// Default `max_file_duration`.
    pub const DEFAULT_MAX_FILE_DURATION: Duration = Duration::from_secs(3600);
    /// Default `min_free_space` (512 MiB).
    pub const DEFAULT_MIN_FREE_SPACE: u64 = 512 << 20;
    /// Default `queue`.
    pub const DEFAULT_QUEUE: usize = 4096;

    /// Checks `[record]`.
    pub fn validate(
        r: RawRecord,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        if r.dir.get_ref().as_os_str().is_empty() {
            return Err(c.err(&r.dir, "must not be empty"));
        }
        let max_file_size = match &r.max_file_size {
            None => Self::DEFAULT_MAX_FILE_SIZE,
            Some(v) if *v.get_ref() >= 64 * 1024 => *v.get_ref(),
            Some(v) => return Err(c.err(v, "must be at least 65536 bytes")),
        };
        let max_file_duration = match &r.max_file_duration {
            None => Self::DEFAULT_MAX_FILE_DURATION,
            Some(v) if v.get_ref().0 >= Duration::from_secs(1) => v.get_ref().0,
            Some(v) => return Err(c.err(v, "must be at least 1s")),
        };
        let compression = match &r.compression {
            None => Self::DEFAULT_COMPRESSION,
            Some(v) if *v.get_ref() == RecordCompression::Zstd && !cfg!(feature = "zstd") => {
                return Err(c.err(
                    v,
                    "zstd needs the `zstd` feature, and this dronetel was built without it",
                ))
            }
            Some(v) => *v.get_ref(),
        };
        Ok(RecordConfig {
            dir: r.dir.get_ref().clone(),
            max_file_size,
            max_file_duration,
            min_free_space: r.min_free_space.unwrap_or(Self::DEFAULT_MIN_FREE_SPACE),
            queue: c.count(r.queue.as_ref(), Self::DEFAULT_QUEUE, 1 << 20)?,
            compression,
            foxglove: r.foxglove.unwrap_or(true),
            selection,
        })
    }
}
