//! A bounded reader of MCAP records for `recover`: every length read from
//! the file is checked against the bytes that are really there before
//! anything is sliced or allocated, so a flipped bit in a length field is
//! reported as damage at its byte offset instead of an allocation of
//! exabytes. It reads only what recovery needs: the record framing, and the
//! schema, channel, message and chunk records.

use std::collections::BTreeMap;

use mcap::records::op;

/// A record, or a field of one, that is not what the format says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the file of the damaged record (for a record inside a
    /// compressed chunk: of the chunk).
    pub offset: u64,
    /// What is wrong there.
    pub reason: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte offset {}: {}", self.offset, self.reason)
    }
}

/// Why a field could not be read: it claims more bytes than its record has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Short {
    /// What was being read.
    pub(crate) what: &'static str,
    /// Bytes it needed.
    pub(crate) need: u64,
    /// Bytes that were left.
    pub(crate) left: usize,
}

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} needs {} bytes, only {} left in the record",
            self.what, self.need, self.left
        )
    }
}

/// Little-endian fields read from a byte slice, each length checked.
pub(crate) struct Fields<'a> {
    data: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Fields of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next `n` bytes (`n` as read from the file).
    pub(crate) fn bytes(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], Short> {
        let short = Short {
            what,
            need: n,
            left: self.data.len(),
        };
        let n = usize::try_from(n).map_err(|_| short.clone())?;
        if n > self.data.len() {
            return Err(short);
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Short> {
        let b = self.bytes(N as u64, what)?;
        <[u8; N]>::try_from(b).map_err(|_| Short {
            what,
            need: N as u64,
            left: b.len(),
        })
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, Short> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Short> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Short> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A string: u32 length, then UTF-8 (invalid UTF-8 is replaced, not
    /// an error: a topic name is not worth losing a recording for).
    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, Short> {
        let n = self.u32(what)?;
        let b = self.bytes(u64::from(n), what)?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    /// Everything left.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// One record as found in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord<'a> {
    /// Byte offset of its opcode in the file (or in the chunk's records).
    pub(crate) offset: u64,
    /// Its opcode.
    pub(crate) opcode: u8,
    /// Its body: the bytes its length claims, or fewer when `claimed` is set.
    pub(crate) body: &'a [u8],
    /// The length it claims, when that is more than the bytes left (the
    /// file was cut inside it, or its length field is damaged).
    pub(crate) claimed: Option<u64>,
}

/// The records of a byte range, in order: opcode (1 byte), length (u64),
/// body. A record whose length runs past the end is returned once, with
/// what is there and `claimed` set, and ends the walk.
pub(crate) struct Records<'a> {
    data: &'a [u8],
    /// Offset of `data[0]` in the file.
    base: u64,
    pos: usize,
    done: bool,
}

impl<'a> Records<'a> {
    /// The records of `data`, whose first byte is at `base` in the file.
    pub(crate) fn new(data: &'a [u8], base: u64) -> Self {
        Self {
            data,
            base,
            pos: 0,
            done: false,
        }
    }

    /// Offset in the file of the next record.
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(self.pos as u64)
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<RawRecord<'a>, Damage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.data.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let offset = self.offset();
        let mut f = Fields::new(rest);
        let head = f.u8_and_len();
        let Ok((opcode, len)) = head else {
            self.done = true;
            return Some(Err(Damage {
                offset,
                reason: format!(
                    "the file ends inside a record header ({} of 9 bytes)",
                    rest.len()
                ),
            }));
        };
        let body = f.rest();
        match usize::try_from(len).ok().filter(|&n| n <= body.len()) {
            Some(n) => {
                self.pos = self.pos.saturating_add(9).saturating_add(n);
                Some(Ok(RawRecord {
                    offset,
                    opcode,
                    body: body.get(..n).unwrap_or_default(),
                    claimed: None,
                }))
            }
            None => {
                self.done = true;
                Some(Ok(RawRecord {
                    offset,
                    opcode,
                    body,
                    claimed: Some(len),
                }))
            }
        }
    }
}

impl Fields<'_> {
    fn u8_and_len(&mut self) -> Result<(u8, u64), Short> {
        let [opcode] = self.array::<1>("opcode")?;
        Ok((opcode, self.u64("record length")?))
    }
}

/// A schema record.
pub(crate) struct SchemaRecord {
    pub(crate) id: u16,
    pub(crate) name: String,
    pub(crate) encoding: String,
    pub(crate) data: Vec<u8>,
}

/// A channel record.
pub(crate) struct ChannelRecord {
    pub(crate) id: u16,
    pub(crate) schema_id: u16,
    pub(crate) topic: String,
    pub(crate) message_encoding: String,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// A message record (its data borrowed from the record).
pub(crate) struct MessageRecord<'a> {
    pub(crate) channel_id: u16,
    pub(crate) sequence: u32,
    pub(crate) log_time: u64,
    pub(crate) publish_time: u64,
    pub(crate) data: &'a [u8],
}

/// A chunk record's header and its (possibly compressed) records.
pub(crate) struct ChunkRecord<'a> {
    /// What the records decompress to: bounds decompression.
    #[cfg_attr(
        not(feature = "zstd"),
        expect(dead_code, reason = "no compressed chunk is read without zstd")
    )]
    pub(crate) uncompressed_size: u64,
    pub(crate) uncompressed_crc: u32,
    pub(crate) compression: String,
    /// The records, or the part of them that is there.
    pub(crate) records: &'a [u8],
    /// Offset of the records' first byte within the chunk body.
    pub(crate) records_at: u64,
    /// Whether all `compressed_size` bytes are there.
    pub(crate) whole: bool,
}

/// The records recovery reads.
pub(crate) enum Parsed<'a> {
    Schema(SchemaRecord),
    Channel(ChannelRecord),
    Message(MessageRecord<'a>),
    Chunk(ChunkRecord<'a>),
    /// The end of the data section (data end or footer).
    End,
    /// Any other record: skipped.
    Other,
}

/// Parses `body` as a record with `opcode`, every length checked.
pub(crate) fn parse(opcode: u8, body: &[u8]) -> Result<Parsed<'_>, Short> {
    let mut f = Fields::new(body);
    Ok(match opcode {
        op::SCHEMA => {
            let id = f.u16("schema id")?;
            let name = f.string("schema name")?;
            let encoding = f.string("schema encoding")?;
            let n = f.u32("schema data length")?;
            let data = f.bytes(u64::from(n), "schema data")?.to_vec();
            Parsed::Schema(SchemaRecord {
                id,
                name,
                encoding,
                data,
            })
        }
        op::CHANNEL => {
            let id = f.u16("channel id")?;
            let schema_id = f.u16("channel schema id")?;
            let topic = f.string("channel topic")?;
            let message_encoding = f.string("channel message encoding")?;
            let n = f.u32("channel metadata length")?;
            let mut map = Fields::new(f.bytes(u64::from(n), "channel metadata")?);
            let mut metadata = BTreeMap::new();
            while !map.data.is_empty() {
                let k = map.string("metadata key")?;
                let v = map.string("metadata value")?;
                metadata.insert(k, v);
            }
            Parsed::Channel(ChannelRecord {
                id,
                schema_id,
                topic,
                message_encoding,
                metadata,
            })
        }
        op::MESSAGE => Parsed::Message(MessageRecord {
            channel_id: f.u16("message channel id")?,
            sequence: f.u32("message sequence")?,
            log_time: f.u64("message log time")?,
            publish_time: f.u64("message publish time")?,
            data: f.rest(),
        }),
        op::CHUNK => {
            let _start = f.u64("chunk start time")?;
            let _end = f.u64("chunk end time")?;
            let uncompressed_size = f.u64("chunk uncompressed size")?;
            let uncompressed_crc = f.u32("chunk crc")?;
            let compression = f.string("chunk compression")?;
            let compressed_size = f.u64("chunk records length")?;
            let rest = f.rest();
            let records_at = (body.len() - rest.len()) as u64;
            let whole = usize::try_from(compressed_size).is_ok_and(|n| n <= rest.len());
            let records = match usize::try_from(compressed_size) {
                Ok(n) => rest.get(..n).unwrap_or(rest),
                Err(_) => rest,
            };
            Parsed::Chunk(ChunkRecord {
                uncompressed_size,
                uncompressed_crc,
                compression,
                records,
                records_at,
                whole,
            })
        }
        op::DATA_END | op::FOOTER => Parsed::End,
        _ => Parsed::Other,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_length_past_the_end_is_reported_with_what_is_there() {
        let mut data = vec![op::MESSAGE];
        data.extend_from_slice(&u64::MAX.to_le_bytes());
        data.extend_from_slice(b"abc");
        let r: Vec<_> = Records::new(&data, 100).collect();
        assert_eq!(r.len(), 1);
        let rec = r[0].as_ref().unwrap();
        assert_eq!(rec.offset, 100);
        assert_eq!(rec.claimed, Some(u64::MAX));
        assert_eq!(rec.body, b"abc");
    }

    #[test]
    fn a_string_longer_than_its_record_is_short_not_an_allocation() {
        let mut body = 7u16.to_le_bytes().to_vec();
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        let Err(e) = parse(op::SCHEMA, &body) else {
            panic!("parsed")
        };
        assert_eq!(e.need, u64::from(u32::MAX));
        assert_eq!(e.left, 0);
    }
}
