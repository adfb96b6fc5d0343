//! `dronetel recover`: rebuilds a finished MCAP file from one cut by a crash
//! or power loss, or damaged on disk. Records are read in file order until
//! the first damage (a record cut short, a length that runs past the end of
//! the file, a chunk whose checksum does not match, a record that does not
//! parse); every message before it is written to a new file with summary
//! and indexes, and the damage is reported with its byte offset.
//!
//! Nothing read from the file sizes an allocation before it is checked
//! against the bytes that are there (`sink::record::scan`): a record longer
//! than the rest of the file is damage, and a compressed chunk is
//! decompressed as a stream into at most its declared size (and at most
//! [`MAX_CHUNK_BYTES`]).

use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

pub use super::scan::Damage;
use super::scan::{parse, ChunkRecord, Parsed, Records};

/// The largest decompressed chunk `recover` reads (256 MiB): the recorder
/// closes chunks at 8 MiB, other writers' defaults are smaller still.
pub const MAX_CHUNK_BYTES: u64 = 256 << 20;

/// Why recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Reading the input or writing the output.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The output could not be written.
    #[error("{}: {source}", path.display())]
    Mcap {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: mcap::McapError,
    },
    /// The input does not start with the MCAP magic.
    #[error("{}: not an MCAP file (no MCAP magic at its start)", path.display())]
    NotMcap {
        /// The file.
        path: PathBuf,
    },
}

/// What recovery kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Messages written to the new file.
    pub messages: u64,
    /// Where and why reading stopped before the end, if it did.
    pub damage: Option<Damage>,
    /// Time of the last message kept (log time, ns).
    pub last_log_time: Option<u64>,
}

/// Why [`recover_bytes`] stopped without a finished output.
#[derive(Debug)]
pub enum RecoverBytesError {
    /// No MCAP magic at the start.
    NotMcap,
    /// The output writer failed.
    Write(mcap::McapError),
}

/// The default output of `recover FILE.mcap`: `FILE.recovered.mcap`.
pub fn default_output(input: &Path) -> PathBuf {
    input.with_extension("recovered.mcap")
}

/// Copies every message of `input` before its first damage into a finished
/// `output` (created mode 0600, as recordings are). An input that is not
/// MCAP is refused before `output` is touched.
pub fn recover(input: &Path, output: &Path) -> Result<Recovered, RecoverError> {
    let data = std::fs::read(input).map_err(|source| RecoverError::Io {
        path: input.to_path_buf(),
        source,
    })?;
    if !data.starts_with(mcap::MAGIC) {
        return Err(RecoverError::NotMcap {
            path: input.to_path_buf(),
        });
    }
    let file = super::file::create_private(output).map_err(|source| RecoverError::Io {
        path: output.to_path_buf(),
        source,
    })?;
    recover_bytes(&data, BufWriter::new(file)).map_err(|e| match e {
        RecoverBytesError::NotMcap => RecoverError::NotMcap {
            path: input.to_path_buf(),
        },
        RecoverBytesError::Write(source) => RecoverError::Mcap {
            path: output.to_path_buf(),
            source,
        },
    })
}

/// [`recover`] on bytes in memory, writing to `out` (what the fuzz target
/// and the tests drive).
pub fn recover_bytes<W: Write + Seek>(data: &[u8], out: W) -> Result<Recovered, RecoverBytesError> {
    let Some(body) = data.strip_prefix(mcap::MAGIC) else {
        return Err(RecoverBytesError::NotMcap);
    };
    let mut w = mcap::WriteOptions::new()
        .compression(None)
        .profile("")
        .create(out)
        .map_err(RecoverBytesError::Write)?;
    let mut links = Links::default();
    let mut kept = Recovered {
        messages: 0,
        damage: None,
        last_log_time: None,
    };
    kept.damage = {
        let mut emit = |m: mcap::Message<'_>| -> Result<(), RecoverBytesError> {
            w.write(&m).map_err(RecoverBytesError::Write)?;
            kept.messages += 1;
            kept.last_log_time = Some(m.log_time);
            Ok(())
        };
        read_records(body, mcap::MAGIC.len() as u64, &mut links, &mut emit)?
    };
    w.finish().map_err(RecoverBytesError::Write)?;
    Ok(kept)
}

/// Reads the top-level records of `data` (at `base` in the file), handing
/// each message to `emit`; returns the first damage.
fn read_records(
    data: &[u8],
    base: u64,
    links: &mut Links,
    emit: &mut dyn FnMut(mcap::Message<'_>) -> Result<(), RecoverBytesError>,
) -> Result<Option<Damage>, RecoverBytesError> {
    for rec in Records::new(data, base) {
        let rec = match rec {
            Ok(rec) => rec,
            Err(d) => return Ok(Some(d)),
        };
        let at = |reason: String| Damage {
            offset: rec.offset,
            reason,
        };
        let cut = rec.claimed.map(|claimed| {
            at(format!(
                "record (opcode {:#04x}) claims {claimed} bytes, the file has {} left",
                rec.opcode,
                rec.body.len()
            ))
        });
        let damage = match parse(rec.opcode, rec.body) {
            // Of a chunk cut short, the messages that are there are kept.
            Ok(Parsed::Chunk(chunk)) => read_chunk(&chunk, rec.offset, links, emit)?,
            // Of any other record cut short, nothing.
            _ if cut.is_some() => None,
            Ok(Parsed::End) => return Ok(None),
            Ok(p) => links.take(p, emit)?.err().map(at),
            Err(short) => Some(at(short.to_string())),
        };
        if let Some(d) = damage.or(cut) {
            return Ok(Some(d));
        }
    }
    // Between two records, but without the data end record a finished
    // file has: cut by a crash.
    Ok(Some(Damage {
        offset: base.saturating_add(data.len() as u64),
        reason: "the file ends here, before its data end record".into(),
    }))
}

/// Reads the messages of one chunk (whose record is at `offset`). A chunk
/// whose records are all there but whose checksum does not match is
/// damaged as a whole: none of its messages are kept. Of a chunk cut short
/// the messages that are there are kept, and the damage is the cut.
///
/// Damage inside an uncompressed chunk is named at the damaged record's
/// offset; inside a compressed one at the chunk's: a position in the
/// decompressed records is no offset in the file.
fn read_chunk(
    chunk: &ChunkRecord<'_>,
    offset: u64,
    links: &mut Links,
    emit: &mut dyn FnMut(mcap::Message<'_>) -> Result<(), RecoverBytesError>,
) -> Result<Option<Damage>, RecoverBytesError> {
    let at = |reason: String| Damage { offset, reason };
    let (records, inflate_error) = match chunk.compression.as_str() {
        "" => (std::borrow::Cow::Borrowed(chunk.records), None),
        #[cfg(feature = "zstd")]
        "zstd" => {
            let cap = chunk.uncompressed_size.min(MAX_CHUNK_BYTES);
            let (bytes, err) = inflate_zstd(chunk.records, cap);
            (std::borrow::Cow::Owned(bytes), err)
        }
        other => {
            return Ok(Some(at(format!(
                "chunk compression {other:?} is not supported"
            ))))
        }
    };
    if chunk.whole && chunk.uncompressed_crc != 0 {
        let crc = crc32fast::hash(&records);
        if crc != chunk.uncompressed_crc {
            return Ok(Some(at(format!(
                "chunk checksum {crc:#010x} does not match the recorded {:#010x}{}; its messages are left out",
                chunk.uncompressed_crc,
                inflate_error
                    .as_ref()
                    .map(|e: &String| format!(" ({e})"))
                    .unwrap_or_default()
            ))));
        }
    }
    let compressed = !chunk.compression.is_empty();
    // Damage found at a record inside the chunk.
    let inside = |d: Damage| {
        if compressed {
            at(format!("inside the compressed chunk: {}", d.reason))
        } else {
            d
        }
    };
    // Why the records stop before their end, if they do: the file was
    // cut, or they do not decompress further.
    let stopped = || {
        if chunk.whole {
            inflate_error
                .as_ref()
                .map(|e: &String| at(format!("chunk does not decompress: {e}")))
        } else {
            Some(at("the file ends inside this chunk's records".into()))
        }
    };
    // The records ran out inside a record: because they stop, or else a
    // length inside is damaged.
    let ran_out = |d: Damage| stopped().unwrap_or_else(|| inside(d));
    let base = offset.saturating_add(9).saturating_add(chunk.records_at);
    for rec in Records::new(&records, base) {
        let rec = match rec {
            Ok(rec) => rec,
            Err(d) => return Ok(Some(ran_out(d))),
        };
        let damage = |reason: String| Damage {
            offset: rec.offset,
            reason,
        };
        if let Some(claimed) = rec.claimed {
            return Ok(Some(ran_out(damage(format!(
                "record (opcode {:#04x}) claims {claimed} bytes, the chunk has {} left",
                rec.opcode,
                rec.body.len()
            )))));
        }
        let reason = match parse(rec.opcode, rec.body) {
            Ok(Parsed::Chunk(_)) => "a chunk inside a chunk".to_string(),
            Ok(p) => match links.take(p, emit)? {
                Ok(()) => continue,
                Err(reason) => reason,
            },
            Err(short) => short.to_string(),
        };
        return Ok(Some(inside(damage(reason))));
    }
    Ok(stopped())
}

/// Decompresses a zstd chunk as a stream, into at most `cap` bytes: the
/// buffer grows with the output, never by a size read from the file.
/// Returns what was decompressed and the error that stopped it, if any.
#[cfg(feature = "zstd")]
fn inflate_zstd(src: &[u8], cap: u64) -> (Vec<u8>, Option<String>) {
    use std::io::Read;
    let mut out = Vec::new();
    let err = match zstd::stream::read::Decoder::with_buffer(src) {
        Ok(d) => d
            .take(cap)
            .read_to_end(&mut out)
            .err()
            .map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    (out, err)
}

/// The schemas and channels seen so far, linked as the writer needs them
/// by mcap's own accumulator: schema id 0, a schema or channel redefined
/// differently and a channel naming a schema not yet seen are damage.
#[derive(Default)]
struct Links(mcap::read::ChannelAccumulator<'static>);

impl Links {
    /// Takes one parsed record: a schema or channel is remembered, a
    /// message emitted. `Ok(Err(reason))`: the record is damaged.
    fn take(
        &mut self,
        p: Parsed<'_>,
        emit: &mut dyn FnMut(mcap::Message<'_>) -> Result<(), RecoverBytesError>,
    ) -> Result<Result<(), String>, RecoverBytesError> {
        let linked = match p {
            Parsed::Schema(s) => self.0.add_schema(
                mcap::records::SchemaHeader {
                    id: s.id,
                    name: s.name,
                    encoding: s.encoding,
                },
                std::borrow::Cow::Owned(s.data),
            ),
            Parsed::Channel(c) => self.0.add_channel(mcap::records::Channel {
                id: c.id,
                schema_id: c.schema_id,
                topic: c.topic,
                message_encoding: c.message_encoding,
                metadata: c.metadata,
            }),
            Parsed::Message(m) => {
                let Some(channel) = self.0.get(m.channel_id) else {
                    return Ok(Err(format!(
                        "message on channel {}, which was not defined",
                        m.channel_id
                    )));
                };
                emit(mcap::Message {
                    channel,
                    sequence: m.sequence,
                    log_time: m.log_time,
                    publish_time: m.publish_time,
                    data: std::borrow::Cow::Borrowed(m.data),
                })?;
                Ok(())
            }
            Parsed::Chunk(_) | Parsed::End | Parsed::Other => Ok(()),
        };
        Ok(linked.map_err(|e| e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::io::Cursor;

    /// A small recording: 3 chunks of 5 messages.
    fn recording(compression: Option<mcap::Compression>) -> Vec<u8> {
        recording_of(compression, |i| format!("message {i}").into_bytes())
    }

    /// 3 chunks of 5 messages, message `i` holding `payload(i)`.
    fn recording_of(
        compression: Option<mcap::Compression>,
        mut payload: impl FnMut(u32) -> Vec<u8>,
    ) -> Vec<u8> {
        let mut w = mcap::WriteOptions::new()
            .compression(compression)
            .profile("")
            .chunk_size(None)
            .create(Cursor::new(Vec::new()))
            .unwrap();
        let schema = w.add_schema("s", "protobuf", b"schema").unwrap();
        let ch = w
            .add_channel(schema, "gps/gps", "protobuf", &Default::default())
            .unwrap();
        for i in 0..15u32 {
            w.write_to_known_channel(
                &mcap::records::MessageHeader {
                    channel_id: ch,
                    sequence: i,
                    log_time: u64::from(i),
                    publish_time: u64::from(i),
                },
                &payload(i),
            )
            .unwrap();
            if i % 5 == 4 {
                w.flush().unwrap();
            }
        }
        w.finish().unwrap();
        w.into_inner().into_inner()
    }

    fn run(data: &[u8]) -> (Recovered, Vec<u8>) {
        let mut out = Cursor::new(Vec::new());
        let r = recover_bytes(data, &mut out).unwrap();
        (r, out.into_inner())
    }

    fn sequences(file: &[u8]) -> Vec<u32> {
        mcap::MessageStream::new(file)
            .unwrap()
            .map(|m| m.unwrap().sequence)
            .collect()
    }

    fn chunk_offsets(data: &[u8]) -> Vec<u64> {
        let s = mcap::Summary::read(data).unwrap().unwrap();
        s.chunk_indexes
            .iter()
            .map(|c| c.chunk_start_offset)
            .collect()
    }

    #[test]
    fn an_undamaged_file_is_copied_whole() {
        for c in [None, Some(mcap::Compression::Zstd)] {
            let (r, out) = run(&recording(c));
            assert_eq!(r.messages, 15);
            assert_eq!(r.damage, None);
            assert_eq!(sequences(&out), (0..15).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_flipped_bit_in_a_chunk_length_keeps_what_came_before_and_names_the_offset() {
        for c in [None, Some(mcap::Compression::Zstd)] {
            let mut data = recording(c);
            let third = chunk_offsets(&data)[2];
            // The top bit of the chunk's record length: 2^63 bytes claimed.
            data[third as usize + 8] ^= 0x80;
            let (r, out) = run(&data);
            let d = r.damage.unwrap();
            assert_eq!(d.offset, third, "{d}");
            // The chunk's own records are all there (only its length field is
            // damaged), so it is kept too; nothing after it is.
            assert_eq!(sequences(&out), (0..15).collect::<Vec<_>>(), "{d}");
        }
    }

    /// Recovers [`recording`] (uncompressed) with a flipped bit in the
    /// length of the first record inside its second chunk, and with that
    /// chunk's checksum set to 0 ("not recorded") when `no_crc`. Returns
    /// the damage, the messages kept, the chunk's offset and the record's.
    fn damage_inside_the_second_chunk(no_crc: bool) -> (Damage, Vec<u32>, u64, u64) {
        let mut data = recording(None);
        let second = chunk_offsets(&data)[1] as usize;
        // The checksum: after the chunk's opcode+length (9) and 3 u64s.
        if no_crc {
            data[second + 9 + 24..second + 9 + 28].fill(0);
        }
        // The first record inside: after the chunk's opcode+length (9) and
        // header (8+8+8+4+4+0+8 = 40).
        let inner = second + 9 + 40;
        data[inner + 8] ^= 0x40;
        let (r, out) = run(&data);
        (
            r.damage.unwrap(),
            sequences(&out),
            second as u64,
            inner as u64,
        )
    }

    #[test]
    fn a_damaged_message_length_inside_a_chunk_stops_there() {
        let (d, kept, _, inner) = damage_inside_the_second_chunk(true);
        assert_eq!(d.offset, inner, "{d}");
        assert!(d.reason.contains("claims"), "{d}");
        assert_eq!(kept, (0..5).collect::<Vec<_>>());
    }

    #[test]
    fn a_chunk_whose_checksum_does_not_match_is_left_out_whole() {
        let (d, kept, second, _) = damage_inside_the_second_chunk(false);
        // The chunk's checksum catches it first: the whole chunk is left out.
        assert_eq!(d.offset, second, "{d}");
        assert!(d.reason.contains("checksum"), "{d}");
        assert_eq!(kept, (0..5).collect::<Vec<_>>());
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn a_zstd_chunk_cut_short_is_named_at_the_chunk_offset() {
        // Messages of 64 KiB that do not compress: zstd stores them as raw
        // blocks, which its decoder hands out as far as they are there, so
        // a cut chunk decompresses into records cut inside one.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise = |_: u32| -> Vec<u8> {
            (0..64 << 10)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        };
        let data = recording_of(Some(mcap::Compression::Zstd), noise);
        let summary = mcap::Summary::read(&data).unwrap().unwrap();
        let chunk = &summary.chunk_indexes[1];
        let (second, end) = (
            chunk.chunk_start_offset,
            chunk.chunk_start_offset + chunk.chunk_length,
        );
        for cut in [(second + end) / 2, second + 1000, end - 1] {
            let (r, out) = run(&data[..cut as usize]);
            let d = r.damage.unwrap();
            assert_eq!(d.offset, second, "cut at {cut}: {d}");
            assert!(
                d.reason.contains("the file ends inside this chunk"),
                "cut at {cut}: {d}"
            );
            // The first chunk, and of the second what decompressed.
            let got = sequences(&out);
            assert!(got.len() >= 5, "cut at {cut}: {got:?}");
            assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn any_single_flipped_bit_or_cut_recovers_without_panic_and_keeps_a_prefix() {
        for c in [None, Some(mcap::Compression::Zstd)] {
            let data = recording(c);
            let all: Vec<u32> = (0..15).collect();
            for i in 8..data.len() {
                for bit in [0u8, 6] {
                    let mut d = data.clone();
                    d[i] ^= 1 << bit;
                    let (r, out) = run(&d);
                    let got = sequences(&out);
                    assert_eq!(got.len() as u64, r.messages);
                    // Kept messages are never invented: a flipped bit in a
                    // message's own fields may change it, but not add one.
                    assert!(got.len() <= all.len(), "byte {i} bit {bit}");
                    // Damage is named at an offset in the file.
                    if let Some(dmg) = r.damage {
                        assert!(dmg.offset <= d.len() as u64, "byte {i} bit {bit}: {dmg}");
                    }
                }
                let (r, out) = run(&data[..i]);
                let got = sequences(&out);
                assert_eq!(got, all[..got.len()].to_vec(), "cut at {i}");
                assert!(r.damage.is_some() || got.len() == 15, "cut at {i}");
                if let Some(dmg) = r.damage {
                    assert!(dmg.offset <= i as u64, "cut at {i}: {dmg}");
                }
            }
        }
    }

    #[test]
    fn a_refused_input_leaves_the_output_alone() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("notes.txt");
        std::fs::write(&input, b"hello").unwrap();
        let existing = dir.path().join("existing.mcap");
        std::fs::write(&existing, b"an earlier recovery").unwrap();
        let e = recover(&input, &existing).unwrap_err();
        assert!(matches!(e, RecoverError::NotMcap { .. }), "{e}");
        assert_eq!(std::fs::read(&existing).unwrap(), b"an earlier recovery");
        let absent = dir.path().join("absent.mcap");
        recover(&input, &absent).unwrap_err();
        assert!(!absent.exists());
    }

    #[test]
    fn an_existing_output_is_replaced_and_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.mcap");
        std::fs::write(&input, recording(None)).unwrap();
        let output = dir.path().join("out.mcap");
        // Longer than what replaces it, and readable by all.
        std::fs::write(&output, vec![b'x'; 100_000]).unwrap();
        std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = recover(&input, &output).unwrap();
        assert_eq!(r.messages, 15);
        let mode = std::fs::metadata(&output).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "output mode {mode:o}");
        let out = std::fs::read(&output).unwrap();
        assert_eq!(sequences(&out), (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn links_refuse_what_mcap_readers_refuse() {
        use super::super::scan::{ChannelRecord, MessageRecord, SchemaRecord};
        let schema = |id, data: &[u8]| {
            Parsed::Schema(SchemaRecord {
                id,
                name: "s".into(),
                encoding: "protobuf".into(),
                data: data.to_vec(),
            })
        };
        let channel = |id, schema_id, topic: &str| {
            Parsed::Channel(ChannelRecord {
                id,
                schema_id,
                topic: topic.into(),
                message_encoding: "protobuf".into(),
                metadata: Default::default(),
            })
        };
        let message = |channel_id, sequence| {
            Parsed::Message(MessageRecord {
                channel_id,
                sequence,
                log_time: 1,
                publish_time: 1,
                data: b"m",
            })
        };
        let mut kept = Vec::new();
        let mut emit = |m: mcap::Message<'_>| -> Result<(), RecoverBytesError> {
            let schema = m.channel.schema.as_ref().map(|s| s.data.to_vec());
            kept.push((m.channel.topic.clone(), schema, m.sequence));
            Ok(())
        };
        let mut links = Links::default();
        let mut take = |p| links.take(p, &mut emit).unwrap();
        assert!(take(schema(0, b"x")).is_err(), "schema id 0");
        take(schema(1, b"x")).unwrap();
        take(schema(1, b"x")).unwrap();
        assert!(take(schema(1, b"y")).is_err(), "schema redefined");
        assert!(take(channel(1, 2, "a")).is_err(), "unknown schema");
        take(channel(1, 1, "a")).unwrap();
        take(channel(1, 1, "a")).unwrap();
        assert!(take(channel(1, 1, "b")).is_err(), "channel redefined");
        take(channel(2, 0, "c")).unwrap();
        assert!(take(message(3, 1)).is_err(), "unknown channel");
        take(message(1, 2)).unwrap();
        take(message(2, 3)).unwrap();
        assert_eq!(
            kept,
            [
                ("a".to_string(), Some(b"x".to_vec()), 2),
                ("c".to_string(), None, 3)
            ]
        );
    }

    #[test]
    fn not_an_mcap_file_is_refused() {
        let out = Cursor::new(Vec::new());
        assert!(matches!(
            recover_bytes(b"hello", out),
            Err(RecoverBytesError::NotMcap)
        ));
    }
}
