//! [`UbxDecoder`] (UBX only) and [`UbloxDecoder`] (UBX and NMEA on one
//! port): demultiplexer → UBX framer → dispatch table → epoch assembler,
//! behind the tokio-util [`Decoder`] contract.
//!
//! # Demultiplexing
//! Outside a frame, `B5` starts a UBX frame; every other byte goes to the
//! NMEA framer (`$` starts a sentence, the rest is junk it counts once per
//! run), or, in [`UbxDecoder`], is junk counted once per run. A `B5` inside
//! an NMEA sentence cuts it short (counted): that byte is never part of a
//! sentence. A rejected UBX frame (bad checksum, over-long length) is
//! searched again from the byte after its `B5 62`, through the same
//! demultiplexer, so a corrupted header cannot swallow the frames and
//! sentences behind it; those replayed bytes are part of the error already
//! counted and start no new junk run.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use dronetel_proto::v1::GpsFix;
use tokio_util::codec::Decoder;
use tracing::debug;

use super::dispatch::{dispatch, Dispatched};
use super::epoch::Epoch;
use super::framer::{Step, UbxFramer, SYNC1};
use super::merge::Merge;
use super::setup::{Setup, SetupOutcome, ACK, ACK_ACK, ACK_NAK};
use super::UbxOptions;
use crate::nmea::NmeaDecoder;
use crate::{Reading, SensorDecoder, Stats};

/// What one byte completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    None,
    Ubx,
    Nmea,
}

/// The decoder shared by both public types.
#[derive(Debug)]
struct Core {
    opts: UbxOptions,
    framer: UbxFramer,
    /// The NMEA side of [`UbloxDecoder`]; `None` in [`UbxDecoder`].
    nmea: Option<NmeaDecoder>,
    /// [`UbxDecoder`] only: inside a counted junk run.
    in_junk: bool,
    /// Bytes of a rejected frame to search again, and how far.
    replay: Vec<u8>,
    replay_at: usize,
    scratch: Vec<u8>,
    epoch: Epoch,
    merge: Merge,
    /// UBX fixes before joining with NMEA.
    staged: VecDeque<GpsFix>,
    out: VecDeque<GpsFix>,
    stats: Stats,
    /// Receiver set-up (`configure`): its state and the bytes to write.
    setup: Setup,
    output: Vec<u8>,
}

impl Core {
    fn new(opts: UbxOptions, nmea: bool) -> Self {
        Self {
            framer: UbxFramer::new(opts.max_payload),
            nmea: nmea.then(|| NmeaDecoder::new(opts.nmea.clone())),
            in_junk: false,
            replay: Vec::new(),
            replay_at: 0,
            scratch: Vec::new(),
            epoch: Epoch::new(opts.default_leap_seconds),
            merge: Merge::default(),
            staged: VecDeque::new(),
            out: VecDeque::new(),
            stats: Stats::default(),
            setup: Setup::default(),
            output: Vec::new(),
            opts,
        }
    }

    /// A byte outside UBX frames and NMEA sentences.
    fn junk(&mut self) {
        if !self.in_junk {
            self.stats.framing_errors += 1;
            self.in_junk = true;
        }
    }

    fn set_junk(&mut self, in_junk: bool) {
        self.in_junk = in_junk;
        if let Some(n) = &mut self.nmea {
            n.set_junk(in_junk);
        }
    }

    /// Routes one byte.
    fn byte(&mut self, b: u8) -> Event {
        if self.framer.active() {
            return match self.framer.push(b, &mut self.stats) {
                Step::More => Event::None,
                Step::Frame => {
                    self.set_junk(false);
                    Event::Ubx
                }
                Step::Reject => {
                    self.set_junk(true);
                    self.scratch.clear();
                    self.scratch.extend_from_slice(self.framer.rescan());
                    self.scratch
                        .extend_from_slice(self.replay.get(self.replay_at..).unwrap_or_default());
                    std::mem::swap(&mut self.replay, &mut self.scratch);
                    self.replay_at = 0;
                    Event::None
                }
                Step::NotSync => {
                    // The `B5` was junk; this byte starts afresh.
                    match &mut self.nmea {
                        Some(n) => {
                            n.push_byte(SYNC1);
                        }
                        None => self.junk(),
                    }
                    self.outside(b)
                }
            };
        }
        self.outside(b)
    }

    /// A byte outside a UBX frame.
    fn outside(&mut self, b: u8) -> Event {
        if b == SYNC1 {
            if let Some(n) = &mut self.nmea {
                if n.in_line() {
                    n.abort_line();
                }
            }
            self.framer.start();
            return Event::None;
        }
        match &mut self.nmea {
            Some(n) => {
                if n.push_byte(b) {
                    Event::Nmea
                } else {
                    Event::None
                }
            }
            None => {
                self.junk();
                Event::None
            }
        }
    }

    /// Handles what a byte completed.
    fn event(&mut self, ev: Event) {
        match ev {
            Event::None => {}
            Event::Ubx => {
                let (class, id, payload) = self.framer.frame();
                if class == ACK && (id == ACK_ACK || id == ACK_NAK) {
                    // Answers to the set-up requests (or to another
                    // program's).
                    self.stats.messages_ok += 1;
                    self.setup.answer(id == ACK_ACK, payload);
                    return;
                }
                match dispatch(class, id, payload) {
                    Dispatched::Known(entry, msg) => {
                        self.stats.messages_ok += 1;
                        self.epoch.push(entry.name, &msg, &mut self.staged);
                    }
                    Dispatched::Unknown => self.stats.unknown_messages += 1,
                    Dispatched::Short(entry) => {
                        self.stats.decode_errors += 1;
                        debug!(
                            message = entry.name,
                            len = payload.len(),
                            "ubx payload too short; skipped"
                        );
                    }
                }
                while let Some(f) = self.staged.pop_front() {
                    self.merge.ubx(f, &mut self.out);
                }
            }
            Event::Nmea => self.drain_nmea(),
        }
    }

    fn drain_nmea(&mut self) {
        if let Some(n) = &mut self.nmea {
            while let Some(f) = n.pop_fix() {
                self.merge.nmea(f, &mut self.out);
            }
        }
    }

    fn decode(&mut self, src: &mut BytesMut) -> Option<GpsFix> {
        loop {
            if let Some(fix) = self.out.pop_front() {
                return Some(fix);
            }
            // Bytes of a rejected frame first: they came before `src`.
            let mut ev = Event::None;
            while ev == Event::None {
                let Some(&b) = self.replay.get(self.replay_at) else {
                    break;
                };
                self.replay_at += 1;
                ev = self.byte(b);
            }
            if self.replay_at >= self.replay.len() {
                self.replay.clear();
                self.replay_at = 0;
            }
            if ev != Event::None {
                self.event(ev);
                continue;
            }
            if src.is_empty() {
                return None;
            }
            let mut used = 0;
            while used < src.len() && ev == Event::None {
                let rest = src.get(used..).unwrap_or_default();
                used += if self.framer.active() {
                    self.framer.push_run(rest)
                } else {
                    self.nmea.as_mut().map_or(0, |n| n.push_run(rest))
                };
                if let Some(&b) = src.get(used) {
                    used += 1;
                    ev = self.byte(b);
                    // A rejected frame's bytes are replayed before the
                    // rest of the input.
                    if !self.replay.is_empty() {
                        break;
                    }
                }
            }
            src.advance(used);
            self.stats.bytes += used as u64;
            self.event(ev);
        }
    }

    fn finish(&mut self) -> Option<GpsFix> {
        if self.framer.finish() {
            self.stats.framing_errors += 1;
        }
        self.epoch.finish(&mut self.staged);
        while let Some(f) = self.staged.pop_front() {
            self.merge.ubx(f, &mut self.out);
        }
        if let Some(n) = &mut self.nmea {
            n.finish();
        }
        self.drain_nmea();
        self.merge.flush(&mut self.out);
        self.out.pop_front()
    }

    /// Every fix published passes here: the set-up's timeout runs on the
    /// receiver's time.
    fn seen(&mut self, fix: Option<GpsFix>) -> Option<GpsFix> {
        if let Some(f) = &fix {
            self.setup.fix(f);
        }
        fix
    }

    fn stats(&self) -> Stats {
        let mut s = self.stats;
        if let Some(n) = &self.nmea {
            let m = n.stats();
            s.messages_ok += m.messages_ok;
            s.checksum_errors += m.checksum_errors;
            s.framing_errors += m.framing_errors;
            s.unknown_messages += m.unknown_messages;
            s.decode_errors += m.decode_errors;
            s.dropped_frames += m.dropped_frames;
        }
        s
    }

    fn holds_pending(&self) -> bool {
        !self.out.is_empty()
            || self.epoch.in_epoch()
            || self.merge.holds()
            || self.nmea.as_ref().is_some_and(|n| n.holds_pending())
    }

    fn flush_idle(&mut self) -> Option<GpsFix> {
        if self.out.is_empty() {
            self.epoch.flush_idle(&mut self.staged);
            while let Some(f) = self.staged.pop_front() {
                self.merge.ubx(f, &mut self.out);
            }
            if let Some(n) = &mut self.nmea {
                while let Some(Reading::Gps(f)) = n.flush_idle() {
                    self.merge.nmea(f, &mut self.out);
                }
            }
            self.merge.flush(&mut self.out);
        }
        self.out.pop_front()
    }
}

/// Decodes a u-blox UBX binary stream into one [`Reading::Gps`] per
/// navigation epoch. Anything that is not UBX (NMEA included) is junk,
/// counted once per run; use [`UbloxDecoder`] for a port carrying both.
/// Bad input is counted in [`Stats`] and skipped; `decode` never returns
/// `Err`, and memory stays bounded (one frame of at most
/// [`UbxOptions::max_payload`] bytes, the input always consumed).
#[derive(Debug)]
pub struct UbxDecoder(Core);

impl Default for UbxDecoder {
    fn default() -> Self {
        Self::new(UbxOptions::default())
    }
}

impl UbxDecoder {
    /// A decoder with the given options.
    pub fn new(opts: UbxOptions) -> Self {
        Self(Core::new(opts, false))
    }
}

/// Decodes a u-blox receiver's port, where UBX and NMEA are interleaved
/// (the u-blox default), into one [`Reading::Gps`] per epoch: UBX values
/// win where both protocols describe one, NMEA fills what UBX lacks, and a
/// receiver sending only NMEA decodes as with [`NmeaDecoder`]. This is
/// `protocol = "ublox"`. Same contract as [`UbxDecoder`].
#[derive(Debug)]
pub struct UbloxDecoder(Core);

impl Default for UbloxDecoder {
    fn default() -> Self {
        Self::new(UbxOptions::default())
    }
}

impl UbloxDecoder {
    /// A decoder with the given options.
    pub fn new(opts: UbxOptions) -> Self {
        Self(Core::new(opts, true))
    }
}

/// The two public decoders differ only in whether NMEA is decoded.
macro_rules! decoder_impls {
    ($t:ty) => {
        impl $t {
            /// The options this decoder was built with.
            pub fn options(&self) -> &UbxOptions {
                &self.0.opts
            }

            /// How the receiver set-up of this connection ended
            /// (`configure`), if it has.
            pub fn setup_outcome(&self) -> Option<SetupOutcome> {
                self.0.setup.outcome()
            }
        }

        impl Decoder for $t {
            type Item = Reading;
            type Error = std::io::Error;

            fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reading>, std::io::Error> {
                let f = self.0.decode(src);
                Ok(self.0.seen(f).map(Reading::Gps))
            }

            fn decode_eof(
                &mut self,
                src: &mut BytesMut,
            ) -> Result<Option<Reading>, std::io::Error> {
                let f = self.0.decode(src);
                if let Some(f) = self.0.seen(f) {
                    return Ok(Some(Reading::Gps(f)));
                }
                let f = self.0.finish();
                Ok(self.0.seen(f).map(Reading::Gps))
            }
        }

        impl SensorDecoder for $t {
            fn stats(&self) -> Stats {
                self.0.stats()
            }

            fn idle_gap(&self) -> Option<Duration> {
                Some(self.0.opts.idle_gap)
            }

            /// A fix is queued, an epoch is in progress, or NMEA fixes wait
            /// for their UBX partner.
            fn holds_pending(&self) -> bool {
                self.0.holds_pending()
            }

            fn flush_idle(&mut self) -> Option<Reading> {
                let f = self.0.flush_idle();
                self.0.seen(f).map(Reading::Gps)
            }

            /// The set-up requests (`configure`), once per connection.
            fn take_output(&mut self) -> Option<Vec<u8>> {
                (!self.0.output.is_empty()).then(|| std::mem::take(&mut self.0.output))
            }

            /// A new connection: with `configure`, the set-up starts again.
            fn on_open(&mut self) {
                self.0.output.clear();
                if self.0.opts.configure {
                    self.0.setup.start(&mut self.0.output);
                }
            }

            /// Passed to the NMEA side: UBX dates come from an absolute
            /// GPS week and need no evidence.
            fn set_time_evidence(&mut self, evidence: Option<crate::nmea::TimeEvidence>) {
                if let Some(n) = &mut self.0.nmea {
                    n.set_time_evidence(evidence);
                }
            }

            /// Only the NMEA side of [`UbloxDecoder`] uses it.
            fn uses_time_evidence(&self) -> bool {
                self.0.nmea.is_some()
            }
        }
    };
}

decoder_impls!(UbxDecoder);
decoder_impls!(UbloxDecoder);
