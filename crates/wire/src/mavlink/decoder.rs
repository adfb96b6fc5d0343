//! [`MavlinkDecoder`]: the `mavlink` crate's incremental `MavlinkReader`
//! behind the tokio-util [`Decoder`] contract.
//!
//! The reader does the framing (marker search, v1/v2 headers, CRC with the
//! dialect's CRC_EXTRA, resync one byte after a bad candidate) and keeps
//! partial frames across calls. It pulls bytes through `std::io::Read`; here
//! that source is a small queue the decoder fills from the caller's buffer
//! and that answers `WouldBlock` when empty, which the decoder turns into
//! `Ok(None)`. The reader keeps what it already took, so no byte is lost at
//! a chunk boundary. The reader validates frames through a [`Dialect`]; ours
//! wraps the common dialect and counts what it is asked, which is how bad
//! CRCs and unknown message ids become visible.

use std::cell::Cell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{self, Read};

use bytes::{Buf, BytesMut};
use mavlink::error::{MessageReadError, ParserError};
use mavlink::{Dialect, MAVLinkMessageRaw, MavHeader, MavlinkReader, MavlinkVersion, Message};
use tokio_util::codec::Decoder;
use tracing::debug;

use super::common::{MavAutopilot, MavMessage};
use super::convert::convert;
use super::encode;
use super::signing::{Signer, Verdict};
use super::MavlinkOptions;
use crate::{Reading, SensorDecoder, Stats};

/// Bytes moved from the caller's buffer to the reader per refill.
const FEED_CHUNK: usize = 512;
/// Read-ahead of the crate's reader: two maximum-size frames.
const READER_CAPACITY: usize = 2 * 280;

/// The byte queue the crate's reader pulls from.
#[derive(Debug, Default)]
struct Feed(VecDeque<u8>);

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.0.len());
        for (dst, src) in out.iter_mut().zip(self.0.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

/// The common dialect, counting the frame candidates the reader checks.
#[derive(Debug, Default)]
struct CountingDialect {
    /// Candidates with a complete header of a known message id (CRC checked).
    crc_checked: Cell<u64>,
    /// Candidates whose message id the dialect does not define.
    unknown_ids: Cell<u64>,
}

impl Dialect for CountingDialect {
    type Message = MavMessage;
    type EncodeError = Infallible;

    fn message_id(&self, message: &MavMessage) -> u32 {
        message.message_id()
    }

    fn extra_crc(&self, message_id: u32) -> Option<u8> {
        if MavMessage::default_message_from_id(message_id).is_none() {
            self.unknown_ids.set(self.unknown_ids.get() + 1);
            return None;
        }
        self.crc_checked.set(self.crc_checked.get() + 1);
        Some(MavMessage::extra_crc(message_id))
    }

    fn decode(
        &self,
        version: MavlinkVersion,
        message_id: u32,
        payload: &[u8],
    ) -> Result<MavMessage, ParserError> {
        MavMessage::parse(version, message_id, payload)
    }

    fn encode(
        &self,
        version: MavlinkVersion,
        message: &MavMessage,
        payload: &mut [u8],
    ) -> Result<usize, Infallible> {
        Ok(message.ser(version, payload))
    }
}

/// Decodes a MAVLink v1/v2 byte stream (common dialect) into readings:
/// SYS_STATUS and BATTERY_STATUS → [`Reading::Battery`], GPS_RAW_INT and
/// GLOBAL_POSITION_INT → [`Reading::Gps`], autopilot HEARTBEAT →
/// [`Reading::Vehicle`].
///
/// A link may be shared (a router forwards the ground station's heartbeats,
/// cameras, gimbals, other vehicles): readings come only from the
/// autopilot's system, pinned in the options or taken from the first
/// HEARTBEAT whose `autopilot` is not `MAV_AUTOPILOT_INVALID`; a vehicle
/// status only from that autopilot's component. Until the autopilot is
/// heard, data messages are skipped uncounted (they may be its own).
/// Counters ([`Stats`]):
/// - `checksum_errors`: frame candidates of a known message whose CRC
///   failed (the reader then resyncs one byte further);
/// - `framing_errors`: candidates naming a message id the common dialect
///   does not define (junk that looks like a header, or another dialect's
///   message: MAVLink cannot tell them apart without that dialect's CRC);
/// - `unknown_messages`: valid frames of messages the daemon does not use;
/// - `decode_errors`: valid frames whose payload the dialect rejects;
/// - `other_systems`: valid frames of another system, or heartbeats of a
///   component that is not the autopilot (a ground station);
/// - with a signing key, `unsigned_messages` and `bad_signatures` (wrong
///   key, corrupted, or replayed): dropped before anything else.
pub struct MavlinkDecoder {
    opts: MavlinkOptions,
    reader: MavlinkReader<Feed>,
    dialect: CountingDialect,
    stats: Stats,
    /// Frames to write to the device (rate requests), not yet taken.
    output: Vec<u8>,
    /// Whether this connection's rate requests were queued already.
    requested: bool,
    /// Sequence number of the frames the daemon sends.
    tx_seq: u8,
    /// The autopilot's system and, once its HEARTBEAT is heard, component.
    autopilot: Option<(u8, Option<u8>)>,
    /// Signature checks and signing, with a key.
    signer: Option<Signer>,
    /// Whether the autopilot was heard on this connection (until then a
    /// reconnect may have led to another autopilot, which then takes over).
    heard: bool,
}

impl std::fmt::Debug for MavlinkDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MavlinkDecoder")
            .field("opts", &self.opts)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for MavlinkDecoder {
    fn default() -> Self {
        Self::new(MavlinkOptions::default())
    }
}

impl MavlinkDecoder {
    /// A decoder with the given options.
    pub fn new(opts: MavlinkOptions) -> Self {
        Self {
            reader: MavlinkReader::with_capacity(READER_CAPACITY, Feed::default()),
            dialect: CountingDialect::default(),
            stats: Stats::default(),
            output: Vec::new(),
            requested: false,
            tx_seq: 0,
            autopilot: opts.system_id.map(|s| (s, None)),
            heard: false,
            signer: opts.signing.clone().map(Signer::new),
            opts,
        }
    }

    /// Whether a frame of `header` carrying `msg` is the autopilot's, for
    /// publishing: learns the autopilot from its first HEARTBEAT and counts
    /// what belongs to other systems.
    fn is_autopilots(&mut self, header: &MavHeader, msg: &MavMessage) -> bool {
        let (sys, comp) = (header.system_id as u8, header.component_id);
        let autopilot_heartbeat = matches!(
            msg,
            MavMessage::HEARTBEAT(h) if h.autopilot != MavAutopilot::MAV_AUTOPILOT_INVALID
        );
        let pinned = self.opts.system_id;
        let mine = match self.autopilot {
            // The first autopilot heard; or, not pinned and before the known
            // one spoke on this connection, another (a reconnect led there).
            _ if autopilot_heartbeat
                && pinned.is_none_or(|p| p == sys)
                && (self.autopilot.is_none_or(|(_, c)| c.is_none())
                    || (pinned.is_none()
                        && !self.heard
                        && self.autopilot.is_some_and(|(s, _)| s != sys))) =>
            {
                self.autopilot = Some((sys, Some(comp)));
                tracing::info!(
                    system_id = sys,
                    component_id = comp,
                    "mavlink autopilot heard"
                );
                true
            }
            // Not known yet: a component that is not an autopilot says so
            // in its heartbeat; other messages may be the autopilot's.
            None => {
                if matches!(msg, MavMessage::HEARTBEAT(_)) {
                    self.stats.other_systems += 1;
                }
                false
            }
            Some((s, _)) if s != sys => {
                self.stats.other_systems += 1;
                false
            }
            // The autopilot system's other components (camera, gimbal) send
            // heartbeats too: only the autopilot's is its status.
            Some((_, c)) => match msg {
                MavMessage::HEARTBEAT(_) if c != Some(comp) => {
                    self.stats.other_systems += 1;
                    false
                }
                _ => true,
            },
        };
        self.heard |= mine;
        mine
    }

    /// Folds the dialect's candidate counts into the stats: every checked
    /// candidate that did not become a frame failed its CRC.
    fn sync_counts(&mut self, frames: &mut u64) {
        let checked = self.dialect.crc_checked.take();
        self.stats.checksum_errors += checked.saturating_sub(*frames);
        *frames = 0;
        self.stats.framing_errors += self.dialect.unknown_ids.take();
    }

    /// One CRC-valid frame: parse, convert, maybe queue rate requests.
    fn frame(&mut self, raw: &MAVLinkMessageRaw) -> Option<Reading> {
        if let Some(signer) = &mut self.signer {
            match signer.check(raw) {
                Verdict::Valid => {}
                Verdict::Unsigned => {
                    self.stats.unsigned_messages += 1;
                    return None;
                }
                Verdict::BadSignature | Verdict::Replayed => {
                    self.stats.bad_signatures += 1;
                    return None;
                }
            }
        }
        let msg = match MavMessage::parse(raw.version(), raw.message_id(), raw.payload()) {
            Ok(m) => m,
            Err(e) => {
                self.stats.decode_errors += 1;
                debug!(msgid = raw.message_id(), error = %e, "mavlink payload rejected; skipped");
                return None;
            }
        };
        let header = MavHeader {
            system_id: raw.system_id(),
            component_id: raw.component_id(),
            sequence: raw.sequence(),
        };
        if !self.is_autopilots(&header, &msg) {
            return None;
        }
        match convert(&header, raw.version(), &msg) {
            Some(r) => {
                self.stats.messages_ok += 1;
                if matches!(r, Reading::Vehicle(_)) {
                    self.queue_requests(&header);
                }
                Some(r)
            }
            None => {
                self.stats.unknown_messages += 1;
                debug!(
                    msg = msg.message_name(),
                    "mavlink message not used; skipped"
                );
                None
            }
        }
    }

    fn queue_requests(&mut self, autopilot: &MavHeader) {
        if self.requested || self.opts.rate_requests.is_empty() {
            return;
        }
        self.requested = true;
        let target = u8::try_from(autopilot.system_id).unwrap_or(u8::MAX);
        for r in self.opts.rate_requests.clone() {
            let header = MavHeader {
                system_id: u32::from(self.opts.own_system_id),
                component_id: self.opts.own_component_id,
                sequence: self.tx_seq,
            };
            self.tx_seq = self.tx_seq.wrapping_add(1);
            let msg = encode::set_message_interval(target, autopilot.component_id, r);
            match &mut self.signer {
                Some(signer) => encode::signed_frame(header, &msg, signer, &mut self.output),
                None => encode::frame(MavlinkVersion::V2, header, &msg, &mut self.output),
            }
        }
        tracing::info!(
            system_id = target,
            requests = self.opts.rate_requests.len(),
            "mavlink message rates requested"
        );
    }
}

impl Decoder for MavlinkDecoder {
    type Item = Reading;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reading>, io::Error> {
        let mut frames = 0;
        loop {
            match self.reader.read_any_raw_message_with_dialect(&self.dialect) {
                Ok(raw) => {
                    frames += 1;
                    if let Some(r) = self.frame(&raw) {
                        self.sync_counts(&mut frames);
                        return Ok(Some(r));
                    }
                }
                Err(MessageReadError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    if src.is_empty() {
                        self.sync_counts(&mut frames);
                        return Ok(None);
                    }
                    let n = src.len().min(FEED_CHUNK);
                    self.reader
                        .get_mut()
                        .0
                        .extend(src.get(..n).unwrap_or_default());
                    src.advance(n);
                    self.stats.bytes += n as u64;
                }
                Err(MessageReadError::Io(e)) => return Err(e),
                Err(MessageReadError::Parse(e)) => {
                    // The raw reader does not parse payloads; counted anyway.
                    self.stats.decode_errors += 1;
                    debug!(error = %e, "mavlink frame rejected; skipped");
                }
            }
        }
    }
}

impl SensorDecoder for MavlinkDecoder {
    fn stats(&self) -> Stats {
        self.stats
    }

    fn take_output(&mut self) -> Option<Vec<u8>> {
        (!self.output.is_empty()).then(|| std::mem::take(&mut self.output))
    }

    fn on_open(&mut self) {
        // A partial frame of the previous connection is not joined to the
        // new connection's bytes.
        self.reader = MavlinkReader::with_capacity(READER_CAPACITY, Feed::default());
        self.requested = false;
        self.output.clear();
        // The autopilot learned is kept (its data counts at once after a
        // replug); another autopilot's heartbeat takes over until it is
        // heard again on this connection.
        self.heard = false;
    }
}
