//! MAVLink 2 message signing (<https://mavlink.io/en/guide/message_signing.html>):
//! a frame carries a link id, a 48-bit timestamp (10 µs units since
//! 2015-01-01) and the first 6 bytes of SHA-256(secret key, frame,
//! link id, timestamp). With a key configured, the decoder uses only frames
//! whose signature is valid and whose timestamp is newer than the last one
//! of the same (link id, system, component) stream; unsigned frames
//! (MAVLink 1 included: no exception, not even RADIO_STATUS) and bad or
//! replayed signatures are counted and dropped. Frames the daemon sends
//! are signed.
//!
//! The hash is the `sha2` crate's (through the `mavlink` crate's
//! `calculate_signature`); the comparison of the 6 signature bytes is done
//! here in constant time (the crate's own check compares with `==`).

use std::collections::HashMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use mavlink::{MAVLinkMessageRaw, MAVLinkV2MessageRaw};
use sha2::{Digest, Sha256};

/// Frames flagged as signed (MAVLink 2 incompatibility flag).
const IFLAG_SIGNED: u8 = 0x01;
/// 2015-01-01T00:00:00Z, the epoch of signature timestamps, in UNIX seconds.
const SIGNING_EPOCH: u64 = 1_420_070_400;
/// A new stream's first timestamp may be at most this much (one minute, in
/// 10 µs units) older than the newest timestamp seen.
const NEW_STREAM_SLACK: u64 = 60 * 100_000;
/// Streams remembered for replay protection (the oldest forgotten beyond).
const MAX_STREAMS: usize = 1024;

/// A link's 32-byte secret key and the link id the daemon signs with.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    key: [u8; 32],
    /// Link id of the frames the daemon sends.
    pub link_id: u8,
}

impl fmt::Debug for SigningKey {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("link_id", &self.link_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The raw 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key, link_id: 0 }
    }

    /// The key MAVProxy (`signing setup PASSPHRASE`) and QGroundControl
    /// derive from a passphrase: its SHA-256.
    pub fn from_passphrase(passphrase: &str) -> Self {
        Self::new(Sha256::digest(passphrase.as_bytes()).into())
    }

    /// A key file's text: exactly 64 hex digits (after trimming white
    /// space) are the raw key; anything else is a passphrase (without its
    /// trailing line end). `None` for an empty file.
    pub fn from_file_text(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut key = [0u8; 32];
            for (i, k) in key.iter_mut().enumerate() {
                *k = u8::from_str_radix(t.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            return Some(Self::new(key));
        }
        Some(Self::from_passphrase(text.trim_end_matches(['\r', '\n'])))
    }
}

/// What a received frame's signature says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Signed with the key, newer than its stream's last frame.
    Valid,
    /// Not signed (or MAVLink 1).
    Unsigned,
    /// Signed with another key, or corrupted.
    BadSignature,
    /// A valid signature whose timestamp is not newer than its stream's
    /// last one (or far older than the link's newest): a replay.
    Replayed,
}

/// Checks received frames and signs sent ones for one link.
#[derive(Debug)]
pub(crate) struct Signer {
    key: SigningKey,
    /// Last timestamp of each (link id, system, component) stream.
    streams: HashMap<(u8, u32, u8), u64>,
    /// Newest valid timestamp seen on the link.
    newest: u64,
    /// Last timestamp the daemon signed with.
    sent: u64,
}

impl Signer {
    pub(crate) fn new(key: SigningKey) -> Self {
        Self {
            key,
            streams: HashMap::new(),
            newest: 0,
            sent: 0,
        }
    }

    /// The verdict on `raw`; a valid frame advances its stream.
    pub(crate) fn check(&mut self, raw: &MAVLinkMessageRaw) -> Verdict {
        let MAVLinkMessageRaw::V2(v2) = raw else {
            return Verdict::Unsigned;
        };
        if v2.incompatibility_flags() & IFLAG_SIGNED == 0 {
            return Verdict::Unsigned;
        }
        let mut expected = [0u8; 6];
        v2.calculate_signature(&self.key.key, &mut expected);
        if !equal_in_constant_time(&expected, v2.signature_value()) {
            return Verdict::BadSignature;
        }
        let ts = v2.signature_timestamp();
        let stream = (v2.signature_link_id(), v2.system_id(), v2.component_id());
        let fresh = match self.streams.get(&stream) {
            Some(last) => ts > *last,
            None => ts.saturating_add(NEW_STREAM_SLACK) >= self.newest,
        };
        if !fresh {
            return Verdict::Replayed;
        }
        if self.streams.len() >= MAX_STREAMS && !self.streams.contains_key(&stream) {
            if let Some(oldest) = self
                .streams
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| *k)
            {
                self.streams.remove(&oldest);
            }
        }
        self.streams.insert(stream, ts);
        self.newest = self.newest.max(ts);
        Verdict::Valid
    }

    /// Signs a frame serialized for signing: link id, a timestamp newer
    /// than any sent before and not older than the link's clock, signature.
    pub(crate) fn sign(&mut self, raw: &mut MAVLinkV2MessageRaw) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64 / 10)
            .saturating_sub(SIGNING_EPOCH * 100_000);
        let ts = now.max(self.newest).max(self.sent + 1);
        self.sent = ts;
        *raw.incompatibility_flags_mut() |= IFLAG_SIGNED;
        *raw.signature_link_id_mut() = self.key.link_id;
        raw.signature_timestamp_bytes_mut()
            .copy_from_slice(&ts.to_le_bytes()[..6]);
        let mut signature = [0u8; 6];
        raw.calculate_signature(&self.key.key, &mut signature);
        raw.signature_value_mut().copy_from_slice(&signature);
    }
}

/// `a == b` without an early exit on the first difference.
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_files_take_hex_or_a_passphrase() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(
            SigningKey::from_file_text(&format!("{hex}\n")).unwrap().key[31],
            0xff
        );
        let p = SigningKey::from_file_text("secret passphrase\n").unwrap();
        assert_eq!(p, SigningKey::from_passphrase("secret passphrase"));
        // MAVProxy: hashlib.sha256("secret".encode("utf-8")).digest()
        let known = SigningKey::from_passphrase("secret");
        assert_eq!(known.key[..4], [0x2b, 0xb8, 0x0d, 0x53]);
        assert!(SigningKey::from_file_text(" \n").is_none());
        assert_eq!(
            format!("{p:?}"),
            "SigningKey { link_id: 0, .. }",
            "the key is never printed"
        );
    }

    #[test]
    fn constant_time_compare_is_a_compare() {
        assert!(equal_in_constant_time(&[1, 2, 3], &[1, 2, 3]));
        assert!(!equal_in_constant_time(&[1, 2, 3], &[1, 2, 4]));
        assert!(!equal_in_constant_time(&[1, 2], &[1, 2, 3]));
    }
}
