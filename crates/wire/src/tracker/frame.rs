//! Tracker frames: `COBS(report ‖ crc32_le(report)) 0x00`, and the bounded
//! framer that splits a byte stream at the 0x00 delimiters.

use crc::{Crc, CRC_32_ISO_HDLC};
use dronetel_proto::tracker::TrackerReport;
use prost::Message;

/// CRC-32/ISO-HDLC (the zlib/Ethernet CRC): poly 0x04C11DB7 reflected,
/// init and xorout 0xFFFFFFFF; check value of "123456789" is 0xCBF43926.
pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Largest frame before COBS encoding: report bytes plus the 4 CRC bytes.
pub const MAX_FRAME: usize = 4096;
/// Largest frame after COBS encoding (one overhead byte per 254).
pub const MAX_ENCODED: usize = MAX_FRAME + MAX_FRAME / 254 + 1;

/// Why a report cannot be sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("tracker report of {len} bytes exceeds the {max}-byte frame limit")]
pub struct TooLarge {
    /// Encoded report length plus CRC.
    pub len: usize,
    /// [`MAX_FRAME`].
    pub max: usize,
}

/// Appends the complete frame of `report` (with its 0x00 delimiter) to `out`.
pub fn encode(report: &TrackerReport, out: &mut Vec<u8>) -> Result<(), TooLarge> {
    let mut raw = report.encode_to_vec();
    let crc = CRC32.checksum(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    if raw.len() > MAX_FRAME {
        return Err(TooLarge {
            len: raw.len(),
            max: MAX_FRAME,
        });
    }
    out.extend_from_slice(&cobs::encode_vec(&raw));
    out.push(0);
    Ok(())
}

/// What one byte completed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Nothing yet.
    More,
    /// A delimiter closed a frame that fits: it is in [`Framer::frame`].
    Frame,
    /// A delimiter closed a frame that was too long (counted once).
    Overlong,
}

/// Collects bytes up to the next 0x00, at most [`MAX_ENCODED`] of them;
/// the rest of an over-long frame is skipped until the delimiter.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    buf: Vec<u8>,
    overlong: bool,
}

impl Framer {
    pub(crate) fn push(&mut self, b: u8) -> Pushed {
        if b != 0 {
            if self.buf.len() < MAX_ENCODED {
                self.buf.push(b);
            } else {
                self.overlong = true;
            }
            return Pushed::More;
        }
        if std::mem::take(&mut self.overlong) {
            self.buf.clear();
            return Pushed::Overlong;
        }
        if self.buf.is_empty() {
            // Back-to-back delimiters (idle fill or resync): no frame.
            return Pushed::More;
        }
        Pushed::Frame
    }

    /// The COBS bytes of the frame just closed; cleared by the next push.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Whether a partial frame is pending.
    pub(crate) fn pending(&self) -> bool {
        !self.buf.is_empty() || self.overlong
    }

    /// Forgets a partial frame.
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.overlong = false;
    }
}
