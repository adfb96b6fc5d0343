//! Applies the continuous message faults to one cycle's bytes.

use std::ops::Range;

use super::{FaultRates, State};

/// How a protocol frames its messages: the marks at the start and end of
/// each message that byte faults leave intact, and which protocol's
/// messages count as foreign on its port.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing {
    /// Bytes at the start of a message kept intact (`$`, the MAVLink magic).
    pub(crate) head: usize,
    /// Bytes at the end kept intact (`\r\n`, the tracker's `0x00`).
    pub(crate) tail: usize,
    /// The other protocol whose messages are injected as foreign bytes.
    pub(crate) foreign: Foreign,
}

/// A protocol whose messages can be injected on another's port.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Foreign {
    /// A u-blox `$GPTXT` sentence.
    Nmea,
    /// A MAVLink 2 HEARTBEAT.
    Mavlink,
}

impl Foreign {
    fn bytes(self) -> Vec<u8> {
        match self {
            Foreign::Nmea => {
                let body = "GPTXT,01,01,02,ANTSTATUS=OK";
                let sum = body.bytes().fold(0u8, |a, b| a ^ b);
                format!("${body}*{sum:02X}\r\n").into_bytes()
            }
            Foreign::Mavlink => {
                use dronetel_wire::mavlink::common::{MavMessage, HEARTBEAT_DATA};
                let mut out = Vec::new();
                dronetel_wire::mavlink::encode::frame(
                    mavlink::MavlinkVersion::V2,
                    mavlink::MavHeader::default(),
                    &MavMessage::HEARTBEAT(HEARTBEAT_DATA::default()),
                    &mut out,
                );
                out
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Garbage,
    BitFlip,
    DropByte,
    Truncate,
    Splice,
    Foreign,
}

fn pick(r: &FaultRates, mut u: f64) -> Option<Kind> {
    for (p, k) in [
        (r.garbage, Kind::Garbage),
        (r.bit_flip, Kind::BitFlip),
        (r.drop_byte, Kind::DropByte),
        (r.truncate, Kind::Truncate),
        (r.splice, Kind::Splice),
        (r.foreign, Kind::Foreign),
    ] {
        if u < p {
            return Some(k);
        }
        u -= p;
    }
    None
}

/// The body of message `m` (without its framing marks), as offsets into
/// the message; `None` when it has no body to damage.
fn body(m: &Range<usize>, f: Framing) -> Option<Range<usize>> {
    let len = m.end - m.start;
    (len > f.head + f.tail).then(|| f.head..len - f.tail)
}

/// A uniform index in `r` (non-empty).
fn index_in(st: &mut State, r: &Range<usize>) -> usize {
    r.start + (st.rng.next_u64() % (r.end - r.start) as u64) as usize
}

/// Writes `cycle` (messages at `messages`, in order) into `out` with the
/// faults of `st.rates` applied, counting them; returns whether a message
/// was touched.
pub(crate) fn apply(
    cycle: &[u8],
    messages: &[Range<usize>],
    framing: Framing,
    st: &mut State,
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let mut touched = false;
    let mut done = 0;
    let mut i = 0;
    while i < messages.len() {
        let m = messages[i].clone();
        out.extend_from_slice(&cycle[done..m.start]);
        done = m.end;
        i += 1;
        let msg = &cycle[m.clone()];
        if st.splice_pending {
            if let Some(b) = body(&m, framing) {
                // The second half of a splice begun in the previous cycle.
                st.splice_pending = false;
                let from = index_in(st, &(b.start + 1..b.end + 1));
                out.extend_from_slice(&msg[from..]);
                st.stats.messages_touched += 1;
                st.stats.bytes_corrupted += from as u64;
                touched = true;
                continue;
            }
        }
        let rates = st.rates;
        let kind = pick(&rates, st.rng.unit());
        let Some((kind, b)) = kind.zip(body(&m, framing)) else {
            out.extend_from_slice(msg);
            st.stats.messages_clean += 1;
            continue;
        };
        touched = true;
        st.stats.messages_touched += 1;
        match kind {
            Kind::Garbage => {
                let n = 1 + (st.rng.next_u64() % 16) as usize;
                out.extend((0..n).map(|_| st.rng.next_u64() as u8));
                out.extend_from_slice(msg);
                st.stats.garbage += 1;
                st.stats.bytes_corrupted += n as u64;
            }
            Kind::Foreign => {
                let foreign = framing.foreign.bytes();
                st.stats.bytes_corrupted += foreign.len() as u64;
                out.extend_from_slice(&foreign);
                out.extend_from_slice(msg);
                st.stats.foreign += 1;
            }
            Kind::BitFlip => {
                let at = index_in(st, &b);
                let bit = st.rng.next_u64() % 8;
                out.extend_from_slice(msg);
                let k = out.len() - msg.len() + at;
                out[k] ^= 1 << bit;
                st.stats.bit_flips += 1;
                st.stats.bytes_corrupted += 1;
            }
            Kind::DropByte => {
                let at = index_in(st, &b);
                out.extend_from_slice(&msg[..at]);
                out.extend_from_slice(&msg[at + 1..]);
                st.stats.dropped_bytes += 1;
                st.stats.bytes_corrupted += 1;
            }
            Kind::Splice if messages.get(i).and_then(|n| body(n, framing)).is_some() => {
                // This message's tail and the next one's head, up to a
                // point in its body, are lost: the two run together.
                let next = messages[i].clone();
                let nb = body(&next, framing).expect("checked by the guard");
                let cut = index_in(st, &b);
                let from = index_in(st, &(nb.start + 1..nb.end + 1));
                out.extend_from_slice(&msg[..cut]);
                out.extend_from_slice(&cycle[next.start + from..next.end]);
                let removed = (msg.len() - cut) + (next.start - done) + from;
                done = next.end;
                i += 1;
                st.stats.messages_touched += 1;
                st.stats.spliced += 1;
                st.stats.bytes_corrupted += removed as u64;
            }
            // The last message of the cycle: it runs into the next cycle's
            // first message, which loses its head then.
            Kind::Splice => {
                let cut = index_in(st, &b);
                out.extend_from_slice(&msg[..cut]);
                st.splice_pending = true;
                st.stats.spliced += 1;
                st.stats.bytes_corrupted += (msg.len() - cut) as u64;
            }
            Kind::Truncate => {
                let cut = index_in(st, &b);
                out.extend_from_slice(&msg[..cut]);
                out.extend_from_slice(&msg[b.end..]);
                st.stats.truncated += 1;
                st.stats.bytes_corrupted += (b.end - cut) as u64;
            }
        }
    }
    out.extend_from_slice(&cycle[done..]);
    touched
}

#[cfg(test)]
mod tests {
    use super::super::Faults;
    use super::*;

    const NMEA: Framing = Framing {
        head: 1,
        tail: 2,
        foreign: Foreign::Mavlink,
    };

    fn lines() -> (Vec<u8>, Vec<Range<usize>>) {
        let text = "$GNGGA,1,2,3*00\r\n$GNRMC,4,5,6*00\r\n$GNGSA,7,8,9*00\r\n";
        let mut ranges = Vec::new();
        let mut start = 0;
        for (i, _) in text.match_indices('\n') {
            ranges.push(start..i + 1);
            start = i + 1;
        }
        (text.as_bytes().to_vec(), ranges)
    }

    fn run(rates: FaultRates) -> (Vec<u8>, bool, super::super::FaultStats) {
        let (cycle, ranges) = lines();
        let faults = Faults::new(7);
        faults.with(|s| {
            s.rates = rates;
            let mut out = Vec::new();
            let touched = apply(&cycle, &ranges, NMEA, s, &mut out);
            (out, touched, s.stats)
        })
    }

    #[test]
    fn no_rates_copy_the_cycle() {
        let (out, touched, st) = run(FaultRates::default());
        assert_eq!(out, lines().0);
        assert!(!touched);
        assert_eq!((st.messages_clean, st.messages_touched), (3, 0));
    }

    #[test]
    fn each_kind_keeps_the_framing_marks_and_is_counted() {
        let base = lines().0;
        let only = |f: fn(&mut FaultRates)| {
            let mut r = FaultRates::default();
            f(&mut r);
            run(r)
        };
        let (out, t, st) = only(|r| r.bit_flip = 1.0);
        assert!(t && out.len() == base.len() && out != base);
        assert_eq!(
            (st.bit_flips, st.messages_touched, st.bytes_corrupted),
            (3, 3, 3)
        );
        let diff = out.iter().zip(&base).filter(|(a, b)| a != b).count();
        assert_eq!(diff, 3);
        let (out, _, st) = only(|r| r.drop_byte = 1.0);
        assert_eq!((out.len(), st.dropped_bytes), (base.len() - 3, 3));
        let (out, _, st) = only(|r| r.truncate = 1.0);
        assert_eq!(out.iter().filter(|&&b| b == b'$').count(), 3);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 3);
        assert_eq!(out.len() as u64, base.len() as u64 - st.bytes_corrupted);
        let (out, _, st) = only(|r| r.splice = 1.0);
        // The first joins 1+2; the third runs into the next cycle.
        assert_eq!(st.spliced, 2);
        assert_eq!(st.messages_touched, 3);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(out.len() as u64, base.len() as u64 - st.bytes_corrupted);
        let (out, _, st) = only(|r| r.garbage = 1.0);
        assert_eq!(out.len() as u64, base.len() as u64 + st.bytes_corrupted);
        assert!(out.ends_with(b"$GNGSA,7,8,9*00\r\n"));
        let (out, _, st) = only(|r| r.foreign = 1.0);
        assert_eq!(st.foreign, 3);
        assert_eq!(out.iter().filter(|&&b| b == 0xfd).count(), 3);
    }

    #[test]
    fn the_foreign_nmea_sentence_has_a_valid_checksum() {
        let s = String::from_utf8(Foreign::Nmea.bytes()).expect("ascii");
        assert_eq!(s, "$GPTXT,01,01,02,ANTSTATUS=OK*3B\r\n");
    }
}
