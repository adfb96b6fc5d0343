//! Counters kept by every decoder, reported in `SensorHealth`.

/// What a decoder has seen since it was created. Bad input is counted here
/// and skipped; it never stops a decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed to the decoder.
    pub bytes: u64,
    /// Messages (sentences, frames) that passed checksum and parsing.
    pub messages_ok: u64,
    /// Messages dropped for a bad checksum or CRC.
    pub checksum_errors: u64,
    /// Junk runs, over-long or truncated messages, missing checksums and
    /// malformed fields, each counted once.
    pub framing_errors: u64,
    /// Well-formed messages of a type the decoder does not use.
    pub unknown_messages: u64,
    /// Messages that passed framing and checksum but whose payload could
    /// not be decoded.
    pub decode_errors: u64,
    /// Frames the sensor numbered but that never arrived (frame-counter
    /// gaps), for protocols with frame counters.
    pub dropped_frames: u64,
    /// Messages of other systems on a shared link (MAVLink), skipped.
    pub other_systems: u64,
    /// Unsigned frames on a link that requires signatures, dropped.
    pub unsigned_messages: u64,
    /// Frames whose signature is wrong or replayed, dropped.
    pub bad_signatures: u64,
}
