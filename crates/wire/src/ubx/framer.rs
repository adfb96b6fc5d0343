//! UBX frame layer: `B5 62`, class, id, little-endian payload length, the
//! payload, and the 8-bit Fletcher checksum over class..payload.
//!
//! [`UbxFramer`] is a byte-at-a-time state machine over one bounded buffer,
//! so its output never depends on how the stream was chunked. It only sees
//! the bytes after a sync character the demultiplexer handed it; everything
//! outside frames (junk, NMEA, RTCM) is the demultiplexer's business.
//! A frame whose declared length exceeds the bound, or whose checksum is
//! wrong, is rejected and the bytes after its `B5 62` are searched again
//! for a sync (a corrupted or bogus header must not swallow the real frames
//! that follow it): the caller replays [`UbxFramer::rescan`].

use crate::Stats;

/// First sync character of every UBX frame.
pub const SYNC1: u8 = 0xB5;
/// Second sync character.
pub const SYNC2: u8 = 0x62;

/// Class, id and the two length bytes.
const HEADER: usize = 4;
/// The two checksum bytes.
const CHECKSUM: usize = 2;

/// Where the framer is inside a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not in a frame.
    Idle,
    /// After `B5`, waiting for `62`.
    Sync2,
    /// Collecting class, id and length.
    Header,
    /// Collecting payload and checksum, `need` bytes after the sync in all.
    Body { need: usize },
}

/// What one byte did to the framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Consumed; the frame is not complete yet.
    More,
    /// A frame with a good checksum is ready: see [`UbxFramer::frame`].
    Frame,
    /// The `B5` before this byte was not a sync: it is junk, and this byte
    /// was not consumed (the caller routes it again).
    NotSync,
    /// The frame was rejected (counted): the caller replays
    /// [`UbxFramer::rescan`] to search it again for a sync.
    Reject,
}

/// Byte-at-a-time UBX framer with a bounded frame buffer.
#[derive(Debug)]
pub(crate) struct UbxFramer {
    state: State,
    /// Every byte after the sync: class, id, length, payload, checksum.
    frame: Vec<u8>,
    max_payload: usize,
}

impl UbxFramer {
    /// A framer accepting payloads of at most `max_payload` bytes.
    pub(crate) fn new(max_payload: usize) -> Self {
        Self {
            state: State::Idle,
            frame: Vec::with_capacity(max_payload.min(4096) + HEADER + CHECKSUM),
            max_payload,
        }
    }

    /// Called on a `B5` outside any frame.
    pub(crate) fn start(&mut self) {
        self.frame.clear();
        self.state = State::Sync2;
    }

    /// Whether a frame has begun and is not finished.
    pub(crate) fn active(&self) -> bool {
        self.state != State::Idle
    }

    /// Fast path inside a payload: copies the leading bytes of `bytes` that
    /// [`UbxFramer::push`] would only append, stopping one byte before the
    /// end of the frame (that byte goes through `push`, which checks the
    /// frame). Returns how many bytes it took.
    pub(crate) fn push_run(&mut self, bytes: &[u8]) -> usize {
        let State::Body { need } = self.state else {
            return 0;
        };
        let room = need.saturating_sub(self.frame.len() + 1);
        let n = room.min(bytes.len());
        self.frame
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        n
    }

    /// Feeds one byte.
    pub(crate) fn push(&mut self, b: u8, stats: &mut Stats) -> Step {
        match self.state {
            State::Idle => Step::NotSync,
            State::Sync2 => {
                if b == SYNC2 {
                    self.state = State::Header;
                    Step::More
                } else {
                    self.state = State::Idle;
                    Step::NotSync
                }
            }
            State::Header => {
                self.frame.push(b);
                if self.frame.len() < HEADER {
                    return Step::More;
                }
                let len = usize::from(u16::from_le_bytes([
                    self.frame.get(2).copied().unwrap_or(0),
                    self.frame.get(3).copied().unwrap_or(0),
                ]));
                if len > self.max_payload {
                    stats.framing_errors += 1;
                    self.state = State::Idle;
                    return Step::Reject;
                }
                self.state = State::Body {
                    need: HEADER + len + CHECKSUM,
                };
                Step::More
            }
            State::Body { need } => {
                self.frame.push(b);
                if self.frame.len() < need {
                    return Step::More;
                }
                self.state = State::Idle;
                let (body, sum) = self.frame.split_at(need - CHECKSUM);
                if fletcher(body)[..] == *sum {
                    Step::Frame
                } else {
                    stats.checksum_errors += 1;
                    Step::Reject
                }
            }
        }
    }

    /// Class, id and payload of the frame just completed (valid after
    /// [`Step::Frame`]).
    pub(crate) fn frame(&self) -> (u8, u8, &[u8]) {
        let class = self.frame.first().copied().unwrap_or(0);
        let id = self.frame.get(1).copied().unwrap_or(0);
        let end = self.frame.len().saturating_sub(CHECKSUM);
        (class, id, self.frame.get(HEADER..end).unwrap_or_default())
    }

    /// The bytes after the sync of the frame just rejected, to be searched
    /// again (valid after [`Step::Reject`]).
    pub(crate) fn rescan(&self) -> &[u8] {
        &self.frame
    }

    /// End of stream: an unfinished frame is truncated. Returns whether
    /// one was (the caller counts it).
    pub(crate) fn finish(&mut self) -> bool {
        let was = self.active();
        self.state = State::Idle;
        self.frame.clear();
        was
    }
}

/// The UBX checksum: 8-bit Fletcher over class, id, length and payload.
pub fn fletcher(bytes: &[u8]) -> [u8; 2] {
    let (mut a, mut b) = (0u8, 0u8);
    for &x in bytes {
        a = a.wrapping_add(x);
        b = b.wrapping_add(a);
    }
    [a, b]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn frame(class: u8, id: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![SYNC1, SYNC2, class, id];
        f.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        f.extend_from_slice(payload);
        let sum = fletcher(&f[2..]);
        f.extend_from_slice(&sum);
        f
    }

    /// Feeds a whole frame; returns the last step.
    fn feed(fr: &mut UbxFramer, bytes: &[u8], st: &mut Stats) -> Step {
        assert_eq!(bytes[0], SYNC1);
        fr.start();
        let mut last = Step::More;
        for &b in &bytes[1..] {
            last = fr.push(b, st);
        }
        last
    }

    #[test]
    fn checksum_is_the_ubx_fletcher() {
        // UBX-CFG-MSG poll of NAV-PVT, checksum from the u-blox manual
        // examples: B5 62 06 01 02 00 01 07 11 3A.
        assert_eq!(
            fletcher(&[0x06, 0x01, 0x02, 0x00, 0x01, 0x07]),
            [0x11, 0x3A]
        );
    }

    #[test]
    fn good_frame_and_empty_payload() {
        let mut st = Stats::default();
        let mut fr = UbxFramer::new(64);
        assert_eq!(
            feed(&mut fr, &frame(1, 7, &[1, 2, 3]), &mut st),
            Step::Frame
        );
        assert_eq!(fr.frame(), (1, 7, &[1u8, 2, 3][..]));
        assert_eq!(feed(&mut fr, &frame(5, 1, &[]), &mut st), Step::Frame);
        assert_eq!(fr.frame(), (5, 1, &[][..]));
        assert_eq!(st, Stats::default());
    }

    #[test]
    fn bad_checksum_rejects_and_offers_the_bytes_after_the_sync() {
        let mut st = Stats::default();
        let mut fr = UbxFramer::new(64);
        let mut f = frame(1, 7, &[SYNC1, SYNC2, 9]);
        let last = f.len() - 1;
        f[last] ^= 1;
        assert_eq!(feed(&mut fr, &f, &mut st), Step::Reject);
        assert_eq!(st.checksum_errors, 1);
        assert_eq!(fr.rescan(), &f[2..]);
    }

    #[test]
    fn over_long_length_is_rejected_at_the_header() {
        let mut st = Stats::default();
        let mut fr = UbxFramer::new(4);
        fr.start();
        for &b in &[SYNC2, 1, 7, 5] {
            assert_eq!(fr.push(b, &mut st), Step::More);
        }
        assert_eq!(fr.push(0, &mut st), Step::Reject);
        assert_eq!(st.framing_errors, 1);
        assert_eq!(fr.rescan(), &[1, 7, 5, 0]);
        assert!(!fr.active());
    }

    #[test]
    fn b5_without_62_is_not_a_sync() {
        let mut st = Stats::default();
        let mut fr = UbxFramer::new(64);
        fr.start();
        assert_eq!(fr.push(b'$', &mut st), Step::NotSync);
        assert!(!fr.active());
    }

    #[test]
    fn runs_stop_one_byte_before_the_end() {
        let mut st = Stats::default();
        let mut fr = UbxFramer::new(64);
        let f = frame(1, 7, &[1, 2, 3, 4, 5]);
        fr.start();
        for &b in &f[1..6] {
            assert_eq!(fr.push(b, &mut st), Step::More);
        }
        let n = fr.push_run(&f[6..]);
        assert_eq!(n, f.len() - 6 - 1);
        assert_eq!(fr.push(f[f.len() - 1], &mut st), Step::Frame);
        assert_eq!(fr.push_run(&f), 0, "no run outside a body");
    }
}
