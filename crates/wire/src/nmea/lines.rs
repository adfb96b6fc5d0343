//! [`SentenceLines`]: whole, checked sentences cut out of raw input as it
//! arrives, unchanged, for passing on as they were received (gpsd's
//! `"nmea":true` watchers, `gpspipe -r`). Junk, comments, binary
//! protocols interleaved on the port and sentences with a bad checksum
//! are left out, as gpsd leaves them out; an overlong line is skipped to
//! its end. Nothing is decoded.

use super::sentence::Sentence;

/// Longest line kept (NMEA allows 82 characters; proprietary sentences
/// run longer).
pub const MAX_LINE: usize = 256;

/// A bounded line assembler for one input stream.
#[derive(Debug, Default)]
pub struct SentenceLines {
    line: Vec<u8>,
    /// Inside a line that grew past [`MAX_LINE`]: skipped to its end.
    overlong: bool,
}

impl SentenceLines {
    /// Takes `bytes` and appends each sentence they complete to `out`,
    /// as received and ending in `\r\n`; returns how many.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> usize {
        let mut n = 0;
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                if !std::mem::take(&mut self.overlong) && Self::checked(&self.line) {
                    out.extend_from_slice(&self.line);
                    out.extend_from_slice(b"\r\n");
                    n += 1;
                }
                self.line.clear();
                continue;
            }
            if self.overlong {
                continue;
            }
            if self.line.len() >= MAX_LINE {
                self.overlong = true;
                self.line.clear();
                continue;
            }
            self.line.push(b);
        }
        n
    }

    /// A `$`/`!` sentence with a checksum that matches.
    fn checked(line: &[u8]) -> bool {
        match line.split_first() {
            Some((b'$' | b'!', body)) => {
                body.contains(&b'*')
                    && body.iter().all(|b| (0x20..0x7f).contains(b))
                    && Sentence::parse(body, true).is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_checked_sentences_pass_unchanged_across_chunks() {
        let mut l = SentenceLines::default();
        let mut out = Vec::new();
        let gga = b"$GPGGA,120000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,47.0,M,,*6F";
        let (a, b) = gga.split_at(20);
        assert_eq!(l.push(b"# a comment\r\n\xb5\x62junk\n", &mut out), 0);
        assert_eq!(l.push(a, &mut out), 0);
        let mut rest = b.to_vec();
        rest.extend_from_slice(b"\r\n$GPGGA,bad*00\r\n");
        assert_eq!(l.push(&rest, &mut out), 1);
        let mut want = gga.to_vec();
        want.extend_from_slice(b"\r\n");
        assert_eq!(out, want);
    }

    #[test]
    fn an_overlong_line_is_skipped_to_its_end() {
        let mut l = SentenceLines::default();
        let mut out = Vec::new();
        let long = vec![b'A'; 3 * MAX_LINE];
        l.push(b"$", &mut out);
        l.push(&long, &mut out);
        assert_eq!(
            l.push(b"*00\r\n$GPZDA,120000.00,01,01,2027,00,00*", &mut out),
            0
        );
        assert!(out.is_empty());
        assert!(l.line.len() <= MAX_LINE);
    }
}
