//! Line framer: turns an untrusted byte stream into candidate sentence bodies.
//!
//! It works byte by byte over a bounded buffer, so the output never depends on
//! how the stream was chunked. A sentence is `$` followed by printable ASCII up
//! to CR or LF. Everything else is resynchronised away:
//! - bytes outside a sentence (junk, binary garbage, `#` comment lines of
//!   captures) are skipped and counted once per run as a framing error;
//! - a `$` inside a sentence starts over (a spliced or truncated fragment,
//!   counted), except right after the opening `$`: `$$GPGGA` is a known
//!   receiver quirk and is accepted silently; and except after a complete
//!   `*hh` checksum: that sentence only lost its line terminator (dropped
//!   bytes, as in `...*1E$GPRMC,...`), so it is passed on and checked;
//! - a non-printable byte inside a sentence discards it (counted) and the rest
//!   of that run is junk;
//! - a line longer than `max_len` is discarded (counted) up to its end or the
//!   next `$`; blank lines and any mix of CR, LF and CRLF are fine.

use crate::Stats;

/// Where the framer is within the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between sentences. `in_junk` is true while a counted junk run lasts.
    Hunt { in_junk: bool },
    /// After a `$`: collecting the sentence body.
    Line,
    /// Skipping the rest of an over-long line (already counted).
    Discard,
}

/// Byte-at-a-time sentence framer with a bounded line buffer.
#[derive(Debug)]
pub(crate) struct Framer {
    state: State,
    line: Vec<u8>,
    max_len: usize,
    /// The last line ended at a `$`: the next byte belongs to a new line.
    restart: bool,
}

impl Framer {
    /// A framer that accepts sentences of at most `max_len` bytes including
    /// the `$` (and excluding the line terminator).
    pub(crate) fn new(max_len: usize) -> Self {
        let max_len = max_len.max(8);
        Self {
            state: State::Hunt { in_junk: false },
            line: Vec::with_capacity(max_len),
            max_len,
            restart: false,
        }
    }

    /// The body of the sentence just completed (after `$`, before CR/LF);
    /// valid after [`Framer::push`] returned true.
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }

    /// Fast path over a run of plain sentence bytes: while collecting a line,
    /// appends the leading bytes of `bytes` that [`Framer::push`] would only
    /// append (printable, not `$`, within `max_len`) in one copy, and returns
    /// how many it took (0 outside a line). The byte after the run goes
    /// through [`Framer::push`], so the result never depends on chunking.
    pub(crate) fn push_run(&mut self, bytes: &[u8]) -> usize {
        if self.restart || self.state != State::Line {
            return 0;
        }
        let run = bytes
            .iter()
            .position(|&b| b == b'$' || !(0x20..=0x7e).contains(&b))
            .unwrap_or(bytes.len());
        // `push` appends while `line.len() + 1 < max_len`.
        let room = (self.max_len - 1).saturating_sub(self.line.len());
        let n = run.min(room);
        self.line
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        n
    }

    /// Feeds one byte; returns true when a complete sentence body is ready in
    /// [`Framer::line`].
    pub(crate) fn push(&mut self, b: u8, stats: &mut Stats) -> bool {
        if self.restart {
            self.restart = false;
            self.start();
        }
        match self.state {
            State::Hunt { in_junk } => match b {
                b'$' => self.start(),
                b'\r' | b'\n' => self.state = State::Hunt { in_junk: false },
                _ => {
                    if !in_junk {
                        stats.framing_errors += 1;
                        self.state = State::Hunt { in_junk: true };
                    }
                }
            },
            State::Line => match b {
                b'$' => {
                    if ends_with_checksum(&self.line) {
                        self.state = State::Hunt { in_junk: false };
                        self.restart = true;
                        return true;
                    }
                    if !self.line.is_empty() {
                        // A fragment cut short by a new sentence.
                        stats.framing_errors += 1;
                    }
                    self.start();
                }
                b'\r' | b'\n' => {
                    self.state = State::Hunt { in_junk: false };
                    if self.line.is_empty() {
                        stats.framing_errors += 1;
                        return false;
                    }
                    return true;
                }
                0x20..=0x7e => {
                    if self.line.len() + 1 >= self.max_len {
                        stats.framing_errors += 1;
                        self.line.clear();
                        self.state = State::Discard;
                    } else {
                        self.line.push(b);
                    }
                }
                _ => {
                    stats.framing_errors += 1;
                    self.line.clear();
                    self.state = State::Hunt { in_junk: true };
                }
            },
            State::Discard => match b {
                b'$' => self.start(),
                b'\r' | b'\n' => self.state = State::Hunt { in_junk: false },
                _ => {}
            },
        }
        false
    }

    /// Called at end of stream: an unterminated sentence is truncated.
    pub(crate) fn finish(&mut self, stats: &mut Stats) {
        if self.state == State::Line {
            stats.framing_errors += 1;
        }
        self.line.clear();
        self.state = State::Hunt { in_junk: false };
    }

    /// Whether a sentence has begun (its `$` was seen) and is not finished:
    /// the combined u-blox decoder cuts it short when a UBX sync arrives.
    pub(crate) fn in_line(&self) -> bool {
        self.restart || self.state == State::Line
    }

    /// A UBX frame interrupts the stream: an unfinished sentence is dropped
    /// (counted, as a truncated line) and the framer waits for a `$`.
    pub(crate) fn abort(&mut self, stats: &mut Stats) {
        self.restart = false;
        self.finish(stats);
    }

    /// Sets whether the framer is inside a counted junk run: a complete UBX
    /// frame ends the run (junk after it is a new run), and the bytes of a
    /// rejected UBX frame, already counted, continue one.
    pub(crate) fn set_junk(&mut self, in_junk: bool) {
        if let State::Hunt { .. } = self.state {
            self.state = State::Hunt { in_junk };
        }
    }

    fn start(&mut self) {
        self.line.clear();
        self.state = State::Line;
    }
}

/// True when `line` ends with `*` and two hex digits.
fn ends_with_checksum(line: &[u8]) -> bool {
    matches!(line, [.., b'*', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The same input fed through `push_run` + `push` as the decoder does.
    fn lines_by_runs(input: &[u8], max: usize) -> (Vec<String>, Stats) {
        let mut f = Framer::new(max);
        let mut st = Stats::default();
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            i += f.push_run(&input[i..]);
            if i < input.len() {
                if f.push(input[i], &mut st) {
                    out.push(String::from_utf8(f.line().to_vec()).unwrap());
                }
                i += 1;
            }
        }
        (out, st)
    }

    #[test]
    fn runs_frame_exactly_like_single_bytes() {
        let mut long = b"$".to_vec();
        long.extend(std::iter::repeat_n(b'A', 40));
        let inputs: [&[u8]; 6] = [
            b"$A*00\r\n\r\n$B*00\n$C*00\r$D*00\n",
            b"# comment\r\nxx\x00\xff$A\n\x01\x02\x03\n$B\n",
            b"$$A\n$$$B\n$GPGGA,12$GPRMC,1\n",
            b"$A,1*1E$B,2*00\r\n$C*0$D\n$GPG\x00\x99GA\n$B\n",
            &long,
            b"$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n$OK\n",
        ];
        for input in inputs {
            let mut with_end = input.to_vec();
            with_end.extend_from_slice(b"\r\n$Z*00\r\n");
            assert_eq!(
                lines_by_runs(&with_end, 32),
                lines(&with_end, 32),
                "{with_end:?}"
            );
        }
    }

    fn lines(input: &[u8], max: usize) -> (Vec<String>, Stats) {
        let mut f = Framer::new(max);
        let mut st = Stats::default();
        let mut out = Vec::new();
        for &b in input {
            if f.push(b, &mut st) {
                out.push(String::from_utf8(f.line().to_vec()).unwrap());
            }
        }
        (out, st)
    }

    #[test]
    fn splits_on_any_line_ending_and_skips_blank_lines() {
        let (l, st) = lines(b"$A*00\r\n\r\n$B*00\n$C*00\r$D*00\n", 64);
        assert_eq!(l, ["A*00", "B*00", "C*00", "D*00"]);
        assert_eq!(st.framing_errors, 0);
    }

    #[test]
    fn junk_runs_are_counted_once_each() {
        let (l, st) = lines(b"# comment\r\nxx\x00\xff$A\n\x01\x02\x03\n$B\n", 64);
        assert_eq!(l, ["A", "B"]);
        // "# comment", "xx\0\xff" and "\x01\x02\x03": three runs.
        assert_eq!(st.framing_errors, 3);
    }

    #[test]
    fn double_dollar_is_accepted_silently() {
        let (l, st) = lines(b"$$A\n$$$B\n", 64);
        assert_eq!(l, ["A", "B"]);
        assert_eq!(st.framing_errors, 0);
    }

    #[test]
    fn spliced_fragment_is_dropped_and_counted() {
        let (l, st) = lines(b"$GPGGA,12$GPRMC,1\n", 64);
        assert_eq!(l, ["GPRMC,1"]);
        assert_eq!(st.framing_errors, 1);
    }

    #[test]
    fn checksummed_sentence_glued_to_the_next_is_kept() {
        let (l, st) = lines(b"$A,1*1E$B,2*00\r\n$C*0$D\n", 64);
        assert_eq!(l, ["A,1*1E", "B,2*00", "D"]);
        assert_eq!(st.framing_errors, 1, "\"C*0\" has no complete checksum");
    }

    #[test]
    fn binary_inside_a_line_discards_it() {
        let (l, st) = lines(b"$GPG\x00\x99GA\n$B\n", 64);
        assert_eq!(l, ["B"]);
        assert_eq!(st.framing_errors, 1);
    }

    #[test]
    fn over_long_line_is_discarded_and_counted_once() {
        let mut input = b"$".to_vec();
        input.extend(std::iter::repeat_n(b'A', 100));
        input.extend_from_slice(b"\r\n$OK\r\n");
        let (l, st) = lines(&input, 32);
        assert_eq!(l, ["OK"]);
        assert_eq!(st.framing_errors, 1);
        // Exactly at the limit is still accepted: '$' + 31 bytes.
        let mut input = b"$".to_vec();
        input.extend(std::iter::repeat_n(b'B', 31));
        input.push(b'\n');
        let (l, _) = lines(&input, 32);
        assert_eq!(l.len(), 1);
        // One more byte is not.
        let mut input = b"$".to_vec();
        input.extend(std::iter::repeat_n(b'B', 32));
        input.push(b'\n');
        let (l, st) = lines(&input, 32);
        assert!(l.is_empty());
        assert_eq!(st.framing_errors, 1);
    }

    #[test]
    fn truncated_line_at_end_is_counted() {
        let mut f = Framer::new(64);
        let mut st = Stats::default();
        for &b in b"$GPGGA,1" {
            assert!(!f.push(b, &mut st));
        }
        f.finish(&mut st);
        assert_eq!(st.framing_errors, 1);
    }
}
