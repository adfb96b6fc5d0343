//! Receiver set-up (`configure = true` of `protocol = "ublox"`): the
//! requests that make a u-blox receiver send NAV-PVT, NAV-SAT, NAV-DOP and
//! NAV-EOE once per navigation solution, and the bookkeeping of the
//! receiver's ACK-ACK / ACK-NAK answers. Sans-I/O: the decoder queues the
//! bytes ([`crate::SensorDecoder::take_output`]) and the sensor task writes
//! them.
//!
//! # Decision: send both request styles, accept either
//! u-blox 8 and older (protocol < 27) configure message rates with
//! CFG-MSG; M9/F9 and later with CFG-VALSET keys (CFG-MSG is deprecated
//! there and may be refused). Telling them apart needs a MON-VER poll and
//! its answer before the requests, one more exchange that can fail. So both
//! are sent at once: four CFG-MSG (rate 1 on the port they arrive on) and
//! one CFG-VALSET for the RAM layer only (the UART1 and USB keys: the port
//! a companion computer reads a module on). Each receiver answers each
//! request with ACK-ACK or ACK-NAK; the set-up succeeded when the
//! CFG-VALSET or all four CFG-MSG were acknowledged. Nothing is ever
//! written to flash or battery-backed RAM (no CFG-CFG, no BBR/Flash
//! layer): a power cycle restores the receiver's own configuration.
//!
//! # Timeout
//! The decoder has no clock: the answers are awaited for 3 s of the
//! receiver's own time (the times of the fixes it publishes after the
//! requests were taken), or 10 fixes, whichever comes first. A receiver
//! that sends nothing at all never times out, and gives no fixes either.

use dronetel_proto::v1::GpsFix;
use tracing::{info, warn};

use super::encode::write_frame;
use super::framer::{fletcher, SYNC1, SYNC2};

/// Class of the configuration messages.
pub const CFG: u8 = 0x06;
/// CFG-MSG: a message's output rate (u-blox 8 and older).
pub const CFG_MSG: u8 = 0x01;
/// CFG-VALSET: set configuration keys (M9, F9 and later).
pub const CFG_VALSET: u8 = 0x8A;
/// Class of the acknowledgements.
pub const ACK: u8 = 0x05;
/// ACK-ACK (ACK-NAK is 0x00).
pub const ACK_ACK: u8 = 0x01;
/// ACK-NAK.
pub const ACK_NAK: u8 = 0x00;

/// The messages enabled: (class, id, name).
pub const MESSAGES: [(u8, u8, &str); 4] = [
    (0x01, 0x07, "NAV-PVT"),
    (0x01, 0x35, "NAV-SAT"),
    (0x01, 0x04, "NAV-DOP"),
    (0x01, 0x61, "NAV-EOE"),
];

/// CFG-MSGOUT keys of [`MESSAGES`] on UART1 and USB (u-blox interface
/// description, "CFG-MSGOUT"), each a one-byte rate.
pub const VALSET_KEYS: [u32; 8] = [
    0x2091_0007, // CFG-MSGOUT-UBX_NAV_PVT_UART1
    0x2091_0009, // CFG-MSGOUT-UBX_NAV_PVT_USB
    0x2091_0016, // CFG-MSGOUT-UBX_NAV_SAT_UART1
    0x2091_0018, // CFG-MSGOUT-UBX_NAV_SAT_USB
    0x2091_0039, // CFG-MSGOUT-UBX_NAV_DOP_UART1
    0x2091_003b, // CFG-MSGOUT-UBX_NAV_DOP_USB
    0x2091_0160, // CFG-MSGOUT-UBX_NAV_EOE_UART1
    0x2091_0162, // CFG-MSGOUT-UBX_NAV_EOE_USB
];

/// CFG-VALSET `layers` bit of the RAM layer (1 RAM, 2 BBR, 4 Flash).
pub const LAYER_RAM: u8 = 0x01;

/// Receiver time the answers are awaited for, milliseconds.
const TIMEOUT_MS: i64 = 3_000;
/// Fixes the answers are awaited for at most.
const TIMEOUT_FIXES: u32 = 10;

/// Appends CFG-MSG (class, id, `rate` on the port it arrives on).
pub fn cfg_msg(out: &mut Vec<u8>, class: u8, id: u8, rate: u8) {
    // Three bytes: cannot exceed the length field.
    let _ = write_frame(out, CFG, CFG_MSG, |o| {
        o.extend_from_slice(&[class, id, rate])
    });
}

/// Appends CFG-VALSET (version 0) setting every one-byte key of `keys` to
/// `value` in the layers `layers`.
pub fn cfg_valset(out: &mut Vec<u8>, layers: u8, keys: &[u32], value: u8) {
    let keys = keys.get(..keys.len().min(64)).unwrap_or_default();
    // At most 4 + 64 * 5 bytes: cannot exceed the length field.
    let _ = write_frame(out, CFG, CFG_VALSET, |o| {
        o.extend_from_slice(&[0, layers, 0, 0]);
        for k in keys {
            o.extend_from_slice(&k.to_le_bytes());
            o.push(value);
        }
    });
}

/// Appends ACK-ACK (`ack`) or ACK-NAK for the message (class, id): what a
/// receiver answers (for `firmware-sim` and tests).
pub fn ack(out: &mut Vec<u8>, class: u8, id: u8, ack: bool) {
    let id_ack = if ack { ACK_ACK } else { ACK_NAK };
    let _ = write_frame(out, ACK, id_ack, |o| o.extend_from_slice(&[class, id]));
}

/// Every request of the set-up, in the order they are sent.
pub fn requests() -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for (class, id, _) in MESSAGES {
        cfg_msg(&mut out, class, id, 1);
    }
    cfg_valset(&mut out, LAYER_RAM, &VALSET_KEYS, 1);
    out
}

/// Whole UBX frames found in `buf` as (class, id, payload), checked; what
/// precedes a sync, and frames with a bad checksum, are skipped. The bytes
/// of an unfinished frame stay in `buf` (at most `max` bytes are kept).
/// For peers that answer requests (`firmware-sim`).
pub fn take_frames(buf: &mut Vec<u8>, max: usize) -> Vec<(u8, u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut at = 0;
    loop {
        let rest = buf.get(at..).unwrap_or_default();
        let Some(start) = rest.windows(2).position(|w| w == [SYNC1, SYNC2]) else {
            // Keep a lone trailing sync byte.
            at = buf.len() - usize::from(buf.last() == Some(&SYNC1));
            break;
        };
        let s = at + start;
        let Some(&[class, id, l0, l1]) = buf.get(s + 2..s + 6) else {
            at = s;
            break;
        };
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        if 8 + len > max {
            // Longer than anything kept: a false sync. Waiting for it
            // would drop the requests behind it.
            at = s + 2;
            continue;
        }
        let Some(frame) = buf.get(s..s + 8 + len) else {
            at = s;
            break;
        };
        let body = frame.get(2..6 + len).unwrap_or_default();
        if fletcher(body)[..] == *frame.get(6 + len..).unwrap_or_default() {
            frames.push((
                class,
                id,
                frame.get(6..6 + len).unwrap_or_default().to_vec(),
            ));
            at = s + 8 + len;
        } else {
            at = s + 2;
        }
    }
    buf.drain(..at.min(buf.len()));
    if buf.len() > max {
        buf.clear();
    }
    frames
}

/// How the set-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupOutcome {
    /// Acknowledged: through CFG-VALSET (`true`) or all CFG-MSG (`false`).
    Acknowledged {
        /// The CFG-VALSET was acknowledged (an M9/F9 or later).
        valset: bool,
    },
    /// Every request was answered, not enough of them with ACK-ACK.
    Rejected,
    /// Not every answer came in time.
    TimedOut,
}

/// The set-up of one connection.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    /// Requests queued by [`Setup::start`] and awaiting answers.
    waiting: bool,
    msg_acks: u32,
    msg_naks: u32,
    valset: Option<bool>,
    /// Receiver time (ms) of the first fix after the requests, and fixes
    /// since.
    first_fix_ms: Option<i64>,
    fixes: u32,
    outcome: Option<SetupOutcome>,
}

impl Setup {
    /// A new connection: the requests are to be sent again.
    pub(crate) fn start(&mut self, output: &mut Vec<u8>) {
        *self = Setup {
            waiting: true,
            ..Setup::default()
        };
        output.extend(requests());
    }

    /// How the last set-up ended, if it has.
    pub(crate) fn outcome(&self) -> Option<SetupOutcome> {
        self.outcome
    }

    /// An ACK-ACK (`ack`) or ACK-NAK frame's payload.
    pub(crate) fn answer(&mut self, ack: bool, payload: &[u8]) {
        if !self.waiting || payload.first() != Some(&CFG) {
            return;
        }
        match payload.get(1) {
            Some(&CFG_MSG) if ack => self.msg_acks += 1,
            Some(&CFG_MSG) => self.msg_naks += 1,
            Some(&CFG_VALSET) => self.valset = Some(ack),
            _ => return,
        }
        let all_msg = self.msg_acks as usize == MESSAGES.len();
        if self.valset == Some(true) || all_msg {
            self.finish(SetupOutcome::Acknowledged {
                valset: self.valset == Some(true),
            });
        } else if self.valset.is_some()
            && (self.msg_acks + self.msg_naks) as usize >= MESSAGES.len()
        {
            self.finish(SetupOutcome::Rejected);
        }
    }

    /// A fix was published: the receiver's clock moves the timeout on.
    pub(crate) fn fix(&mut self, fix: &GpsFix) {
        if !self.waiting {
            return;
        }
        self.fixes += 1;
        let ms = fix
            .time
            .as_ref()
            .map(|t| t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000));
        // The receiver's clock starts at the first fix that has a time: a
        // cold receiver's first fixes often have none.
        let elapsed = ms.map_or(0, |ms| {
            ms.saturating_sub(*self.first_fix_ms.get_or_insert(ms))
        });
        if elapsed >= TIMEOUT_MS || self.fixes > TIMEOUT_FIXES {
            self.finish(SetupOutcome::TimedOut);
        }
    }

    fn finish(&mut self, outcome: SetupOutcome) {
        self.waiting = false;
        self.outcome = Some(outcome);
        let (acks, naks, valset) = (self.msg_acks, self.msg_naks, self.valset);
        match outcome {
            SetupOutcome::Acknowledged { valset: via_valset } => info!(
                via = if via_valset { "CFG-VALSET (RAM)" } else { "CFG-MSG" },
                cfg_msg_acks = acks,
                cfg_msg_naks = naks,
                valset = ?valset,
                "u-blox receiver configured: NAV-PVT, NAV-SAT, NAV-DOP, NAV-EOE every solution"
            ),
            SetupOutcome::Rejected => warn!(
                cfg_msg_acks = acks,
                cfg_msg_naks = naks,
                valset = ?valset,
                "u-blox receiver refused the set-up (ACK-NAK); it keeps its own configuration"
            ),
            SetupOutcome::TimedOut => warn!(
                cfg_msg_acks = acks,
                cfg_msg_naks = naks,
                valset = ?valset,
                "u-blox receiver did not answer the set-up in time; it keeps its own configuration"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn requests_are_four_cfg_msg_and_one_ram_valset() {
        let mut bytes = requests();
        let frames = take_frames(&mut bytes, 1024);
        assert!(bytes.is_empty());
        assert_eq!(frames.len(), 5);
        for ((class, id, payload), (c, i, _)) in frames.iter().zip(MESSAGES) {
            assert_eq!((*class, *id), (CFG, CFG_MSG));
            assert_eq!(payload, &vec![c, i, 1]);
        }
        let (class, id, payload) = &frames[4];
        assert_eq!((*class, *id), (CFG, CFG_VALSET));
        assert_eq!(&payload[..4], &[0, LAYER_RAM, 0, 0], "RAM layer only");
        assert_eq!(payload.len(), 4 + 5 * VALSET_KEYS.len());
        assert_eq!(&payload[4..9], &[0x07, 0x00, 0x91, 0x20, 1]);
    }

    #[test]
    fn frames_are_found_across_junk_and_chunks() {
        let mut all = b"junk".to_vec();
        ack(&mut all, CFG, CFG_MSG, true);
        all.extend_from_slice(&[SYNC1, SYNC2, 5, 1, 2, 0, 6, 1, 0, 0]);
        ack(&mut all, CFG, CFG_VALSET, false);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for chunk in all.chunks(3) {
            buf.extend_from_slice(chunk);
            got.extend(take_frames(&mut buf, 1024));
        }
        assert_eq!(
            got,
            vec![
                (ACK, ACK_ACK, vec![CFG, CFG_MSG]),
                (ACK, ACK_NAK, vec![CFG, CFG_VALSET])
            ]
        );
    }

    #[test]
    fn outcomes() {
        let mut s = Setup::default();
        let mut out = Vec::new();
        s.start(&mut out);
        s.answer(true, &[CFG, CFG_VALSET]);
        assert_eq!(
            s.outcome(),
            Some(SetupOutcome::Acknowledged { valset: true })
        );
        s.start(&mut out);
        s.answer(false, &[CFG, CFG_VALSET]);
        for _ in 0..4 {
            s.answer(true, &[CFG, CFG_MSG]);
        }
        assert_eq!(
            s.outcome(),
            Some(SetupOutcome::Acknowledged { valset: false })
        );
        s.start(&mut out);
        s.answer(false, &[CFG, CFG_VALSET]);
        s.answer(true, &[CFG, CFG_MSG]);
        for _ in 0..3 {
            s.answer(false, &[CFG, CFG_MSG]);
        }
        assert_eq!(s.outcome(), Some(SetupOutcome::Rejected));
        s.start(&mut out);
        let fix = |secs| GpsFix {
            time: Some(prost_types::Timestamp {
                seconds: secs,
                nanos: 0,
            }),
            ..GpsFix::default()
        };
        s.fix(&fix(100));
        s.fix(&fix(102));
        assert_eq!(s.outcome(), None);
        s.fix(&fix(103));
        assert_eq!(s.outcome(), Some(SetupOutcome::TimedOut));
        // A first fix without a time does not start the receiver's clock.
        s.start(&mut out);
        s.fix(&GpsFix::default());
        s.fix(&fix(100));
        s.fix(&fix(102));
        assert_eq!(s.outcome(), None);
    }

    /// A sync followed by a length longer than the buffer may keep is not
    /// waited for: the request behind it is still found.
    #[test]
    fn a_false_sync_with_a_huge_length_does_not_hide_what_follows() {
        let mut buf = vec![SYNC1, SYNC2, CFG, CFG_MSG, 0x60, 0xEA];
        ack(&mut buf, CFG, CFG_MSG, true);
        let frames = take_frames(&mut buf, 1024);
        assert_eq!(frames, vec![(ACK, ACK_ACK, vec![CFG, CFG_MSG])]);
        assert!(buf.is_empty());
    }
}
