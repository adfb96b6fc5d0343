//! One MCAP recording file: a protobuf schema (`dronetel.v1.Frame`, the
//! whole FileDescriptorSet embedded), one channel per sensor and kind, and
//! chunks closed on demand so that a crash loses at most the open chunk.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dronetel_proto::v1::{frame::Body, Frame};

use crate::sink::foxglove_schema::nanos;

use super::config::RecordCompression;
use crate::selection::Kind;
use crate::sink::foxglove_schema::{Converter, WellKnown};

/// Name of the schema every channel uses.
pub const SCHEMA_NAME: &str = "dronetel.v1.Frame";

/// Why a recording file failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Creating, writing or syncing the file.
    #[error("recording {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The MCAP writer refused.
    #[error("recording {}: {source}", path.display())]
    Mcap {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: mcap::McapError,
    },
}

/// An open recording.
pub struct RecordingFile {
    path: PathBuf,
    writer: mcap::Writer<BufWriter<File>>,
    schema: u16,
    channels: HashMap<(String, Kind), u16>,
    /// Foxglove's well-known messages, when recorded: the converter, the
    /// schema ids and the channels by topic.
    foxglove: Option<Foxglove>,
    /// Messages written (frames and well-known messages).
    pub messages: u64,
}

/// The well-known side of a recording file.
#[derive(Default)]
struct Foxglove {
    converter: Converter,
    schemas: HashMap<WellKnown, u16>,
    channels: HashMap<String, u16>,
}

impl std::fmt::Debug for RecordingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingFile")
            .field("path", &self.path)
            .finish()
    }
}

fn mc_error(path: &Path, source: mcap::McapError) -> RecordError {
    RecordError::Mcap {
        path: path.to_path_buf(),
        source,
    }
}

/// `log_time` (received) and `publish_time` (sensor time: the fix time of a
/// GPS frame, else the received time) of a frame, nanoseconds.
pub fn times(frame: &Frame) -> (u64, u64) {
    let log = nanos(frame.received_at.as_ref()).unwrap_or(0);
    let publish = match &frame.body {
        Some(Body::Gps(g)) => nanos(g.time.as_ref()).unwrap_or(log),
        _ => log,
    };
    (log, publish)
}

/// A file name for a recording started at `at`: `<vehicle>-<UTC>-<n>.mcap`.
pub fn file_name(vehicle: &str, at: SystemTime, n: u32) -> String {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace([':', '-'], "");
    format!("{vehicle}-{stamp}-{n:03}.mcap")
}

/// Creates (or truncates) `path` with mode 0600: a recording holds the
/// vehicle's positions, readable by the daemon's user only (the umask can
/// only remove bits from that). An existing file is set to 0600 before it
/// is emptied: the mode given to `open` applies only to a file it creates.
pub(crate) fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.set_len(0)?;
    Ok(file)
}

impl RecordingFile {
    /// Creates `path` and writes the header and schema; `foxglove`: also
    /// record Foxglove's well-known messages made from the frames.
    pub fn create(
        path: &Path,
        compression: RecordCompression,
        foxglove: bool,
    ) -> Result<Self, RecordError> {
        let io = |source| RecordError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mc = |source| RecordError::Mcap {
            path: path.to_path_buf(),
            source,
        };
        let file = create_private(path).map_err(io)?;
        let mut writer = mcap::WriteOptions::new()
            .compression(match compression {
                RecordCompression::None => None,
                #[cfg(feature = "zstd")]
                RecordCompression::Zstd => Some(mcap::Compression::Zstd),
                // Refused when the configuration is loaded.
                #[cfg(not(feature = "zstd"))]
                RecordCompression::Zstd => None,
            })
            .profile("")
            .library(concat!("dronetel ", env!("CARGO_PKG_VERSION")))
            // Chunks are closed by time (`flush`), not by size, below 8 MiB.
            .chunk_size(Some(8 << 20))
            .create(BufWriter::new(file))
            .map_err(mc)?;
        let schema = writer
            .add_schema(SCHEMA_NAME, "protobuf", dronetel_proto::FILE_DESCRIPTOR_SET)
            .map_err(mc)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            schema,
            channels: HashMap::new(),
            foxglove: foxglove.then(Foxglove::default),
            messages: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn mc(&self, source: mcap::McapError) -> RecordError {
        mc_error(&self.path, source)
    }

    /// Appends one frame (`data` = its encoding) to its sensor/kind channel.
    pub fn write(&mut self, frame: &Frame, data: &[u8]) -> Result<(), RecordError> {
        let Some(kind) = Kind::of(frame) else {
            return Ok(());
        };
        let key = (frame.sensor.clone(), kind);
        let channel = match self.channels.get(&key) {
            Some(c) => *c,
            None => {
                let meta = BTreeMap::from([
                    ("sensor".to_string(), frame.sensor.clone()),
                    ("kind".to_string(), kind.to_string()),
                ]);
                let topic = format!("{}/{kind}", frame.sensor);
                let c = self
                    .writer
                    .add_channel(self.schema, &topic, "protobuf", &meta)
                    .map_err(|e| self.mc(e))?;
                self.channels.insert(key, c);
                c
            }
        };
        let (log_time, publish_time) = times(frame);
        let header = mcap::records::MessageHeader {
            channel_id: channel,
            // MCAP sequence numbers are 32 bits; the frame keeps the full seq.
            sequence: frame.seq as u32,
            log_time,
            publish_time,
        };
        self.writer
            .write_to_known_channel(&header, data)
            .map_err(|e| self.mc(e))?;
        self.messages += 1;
        self.write_well_known(frame, log_time)
    }

    /// Appends the well-known message `frame` makes, if any, on its own
    /// channel (schema and channel added on first use).
    fn write_well_known(&mut self, frame: &Frame, log_time: u64) -> Result<(), RecordError> {
        let Some(fg) = self.foxglove.as_mut() else {
            return Ok(());
        };
        let Some(m) = fg.converter.convert(frame) else {
            return Ok(());
        };
        let channel = match fg.channels.get(&m.topic) {
            Some(c) => *c,
            None => {
                let schema = match fg.schemas.get(&m.schema) {
                    Some(s) => *s,
                    None => {
                        let s = self
                            .writer
                            .add_schema(
                                m.schema.schema_name(),
                                "protobuf",
                                m.schema.descriptor_set(),
                            )
                            .map_err(|e| mc_error(&self.path, e))?;
                        fg.schemas.insert(m.schema, s);
                        s
                    }
                };
                let meta = BTreeMap::from([("sensor".to_string(), frame.sensor.clone())]);
                let c = self
                    .writer
                    .add_channel(schema, &m.topic, "protobuf", &meta)
                    .map_err(|e| mc_error(&self.path, e))?;
                fg.channels.insert(m.topic.clone(), c);
                c
            }
        };
        let header = mcap::records::MessageHeader {
            channel_id: channel,
            sequence: frame.seq as u32,
            log_time,
            publish_time: m.time_ns,
        };
        self.writer
            .write_to_known_channel(&header, &m.data)
            .map_err(|e| mc_error(&self.path, e))?;
        self.messages += 1;
        Ok(())
    }

    /// Closes the open chunk and pushes it to the file (what a crash keeps).
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.writer.flush().map_err(|e| self.mc(e))
    }

    /// Bytes in the file so far (after [`flush`](Self::flush)).
    pub fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// Writes the summary and index and closes the file.
    pub fn finish(mut self) -> Result<(PathBuf, u64), RecordError> {
        self.writer.finish().map_err(|e| self.mc(e))?;
        let file = self
            .writer
            .into_inner()
            .into_inner()
            .map_err(|e| RecordError::Io {
                path: self.path.clone(),
                source: e.into_error(),
            })?;
        file.sync_all().map_err(|source| RecordError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok((self.path, self.messages))
    }
}
