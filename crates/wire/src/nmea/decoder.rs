//! [`NmeaDecoder`]: framer → checksum → dispatch table → epoch assembler,
//! behind the tokio-util [`Decoder`] contract.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use dronetel_proto::v1::GpsFix;
use tokio_util::codec::Decoder;
use tracing::debug;

use super::dispatch::{dispatch, Dispatched};
use super::epoch::Epoch;
use super::framer::Framer;
use super::sentence::{Reject, Sentence};
use super::{NmeaOptions, TimeEvidence};
use crate::{Reading, SensorDecoder, Stats};

/// Decodes an NMEA 0183 byte stream into one [`Reading::Gps`] per receiver
/// cycle. Bad input is counted in [`Stats`] and skipped; `decode` never
/// returns `Err`. Memory stays bounded whatever the input: the line buffer
/// holds at most `max_sentence_len` bytes and the input buffer is always
/// consumed.
#[derive(Debug)]
pub struct NmeaDecoder {
    opts: NmeaOptions,
    framer: Framer,
    epoch: Epoch,
    stats: Stats,
    out: VecDeque<GpsFix>,
}

impl Default for NmeaDecoder {
    fn default() -> Self {
        Self::new(NmeaOptions::default())
    }
}

impl NmeaDecoder {
    /// A decoder with the given options.
    pub fn new(opts: NmeaOptions) -> Self {
        Self {
            framer: Framer::new(opts.max_sentence_len),
            epoch: Epoch::new(opts.rollover_floor),
            stats: Stats::default(),
            out: VecDeque::new(),
            opts,
        }
    }

    /// Hands the decoder outside evidence of today's date (`None`
    /// withdraws it): a receiver date 1024·k weeks (± 1 day) behind it is
    /// a GPS week rollover and is corrected. The decoder never reads a
    /// clock itself; its owner (the daemon's sensor task) feeds this, e.g.
    /// from the host clock while the kernel says it is NTP-synchronized.
    /// See `crates/wire/NMEA.md`, "GPS week rollover".
    pub fn set_time_evidence(&mut self, evidence: Option<TimeEvidence>) {
        self.epoch.set_evidence(evidence);
    }

    /// The options this decoder was built with.
    pub fn options(&self) -> &NmeaOptions {
        &self.opts
    }

    fn sentence(&mut self) {
        let line = self.framer.line();
        let s = match Sentence::parse(line, self.opts.require_checksum) {
            Ok(s) => s,
            Err(Reject::Checksum) => {
                self.stats.checksum_errors += 1;
                return;
            }
            Err(Reject::Framing) => {
                self.stats.framing_errors += 1;
                return;
            }
        };
        match dispatch(&s) {
            Dispatched::Known(u) => {
                self.stats.messages_ok += 1;
                self.epoch.push(s.talker(), &u, &mut self.out);
            }
            Dispatched::Unknown => {
                self.stats.unknown_messages += 1;
                debug!(address = s.address, "nmea sentence not used; skipped");
            }
            Dispatched::Malformed => {
                self.stats.framing_errors += 1;
                debug!(address = s.address, "nmea sentence malformed; skipped");
            }
        }
    }
}

/// The byte-level hooks through which the combined u-blox decoder
/// ([`crate::ubx::UbloxDecoder`]) runs NMEA on the same port as UBX.
impl NmeaDecoder {
    /// Fast path: copies plain sentence bytes, see `Framer::push_run`.
    pub(crate) fn push_run(&mut self, bytes: &[u8]) -> usize {
        self.framer.push_run(bytes)
    }

    /// Feeds one byte; returns true when it completed a sentence (which is
    /// then parsed, and may have queued fixes: see [`Self::pop_fix`]).
    pub(crate) fn push_byte(&mut self, b: u8) -> bool {
        if self.framer.push(b, &mut self.stats) {
            self.sentence();
            return true;
        }
        false
    }

    /// A sentence has begun and is not finished.
    pub(crate) fn in_line(&self) -> bool {
        self.framer.in_line()
    }

    /// Drops an unfinished sentence (counted).
    pub(crate) fn abort_line(&mut self) {
        self.framer.abort(&mut self.stats);
    }

    /// See `Framer::set_junk`.
    pub(crate) fn set_junk(&mut self, in_junk: bool) {
        self.framer.set_junk(in_junk);
    }

    /// The next completed fix, if any.
    pub(crate) fn pop_fix(&mut self) -> Option<GpsFix> {
        self.out.pop_front()
    }

    /// End of stream: a truncated sentence is counted and the cycle in
    /// progress published.
    pub(crate) fn finish(&mut self) {
        self.framer.finish(&mut self.stats);
        self.epoch.finish(&mut self.out);
    }
}

impl Decoder for NmeaDecoder {
    type Item = Reading;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reading>, std::io::Error> {
        loop {
            if let Some(fix) = self.out.pop_front() {
                return Ok(Some(Reading::Gps(fix)));
            }
            if src.is_empty() {
                return Ok(None);
            }
            // Plain sentence bytes are copied in runs; every other byte
            // (delimiters, junk) goes through the byte-wise state machine.
            let mut used = 0;
            let mut line = false;
            while used < src.len() {
                used += self.framer.push_run(src.get(used..).unwrap_or_default());
                if let Some(&b) = src.get(used) {
                    used += 1;
                    if self.framer.push(b, &mut self.stats) {
                        line = true;
                        break;
                    }
                }
            }
            src.advance(used);
            self.stats.bytes += used as u64;
            if line {
                self.sentence();
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Reading>, std::io::Error> {
        if let Some(r) = self.decode(src)? {
            return Ok(Some(r));
        }
        self.finish();
        Ok(self.out.pop_front().map(Reading::Gps))
    }
}

impl SensorDecoder for NmeaDecoder {
    fn stats(&self) -> Stats {
        self.stats
    }

    fn set_time_evidence(&mut self, evidence: Option<TimeEvidence>) {
        NmeaDecoder::set_time_evidence(self, evidence);
    }

    fn uses_time_evidence(&self) -> bool {
        true
    }

    fn idle_gap(&self) -> Option<Duration> {
        Some(self.opts.idle_gap)
    }

    /// A fix is queued or a timed cycle is in progress (after a learned
    /// ender has published the cycle, nothing is held until the next one).
    fn holds_pending(&self) -> bool {
        !self.out.is_empty() || self.epoch.in_cycle()
    }

    fn flush_idle(&mut self) -> Option<Reading> {
        if self.out.is_empty() {
            self.epoch.flush_idle(&mut self.out);
        }
        self.out.pop_front().map(Reading::Gps)
    }
}
