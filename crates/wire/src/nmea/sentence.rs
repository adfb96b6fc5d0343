//! One framed sentence: checksum check, address split and field access,
//! all borrowing the framer's line buffer (no allocation per sentence).

/// Most fields a sentence may have; the rest are ignored (no handled
/// sentence comes near it: GSV has at most 21).
const MAX_FIELDS: usize = 40;

/// Why a framed line was rejected before dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// `*hh` present but not matching the XOR of the body.
    Checksum,
    /// No `*hh` while a checksum is required, a malformed `*` suffix, or an
    /// address that is not 3 to 32 upper-case letters or digits.
    Framing,
}

/// A checked sentence: its address (`GPGGA`, `PMTK001`) and its fields.
#[derive(Debug)]
pub(crate) struct Sentence<'a> {
    /// Address field without the `$`.
    pub(crate) address: &'a str,
    fields: [&'a str; MAX_FIELDS],
    len: usize,
}

impl<'a> Sentence<'a> {
    /// Checks and splits a sentence body (the bytes between `$` and CR/LF).
    pub(crate) fn parse(line: &'a [u8], require_checksum: bool) -> Result<Self, Reject> {
        // The framer only passes printable ASCII, so this cannot fail; map
        // it to a framing error anyway rather than trusting that.
        let line = std::str::from_utf8(line).map_err(|_| Reject::Framing)?;
        let body = match line.rfind('*') {
            Some(star) => {
                let (body, sum) = (&line[..star], line[star + 1..].trim_end());
                if sum.len() != 2 {
                    return Err(Reject::Framing);
                }
                let want = u8::from_str_radix(sum, 16).map_err(|_| Reject::Framing)?;
                if checksum(body.as_bytes()) != want {
                    return Err(Reject::Checksum);
                }
                body
            }
            None if require_checksum => return Err(Reject::Framing),
            None => line.trim_end(),
        };
        // Split at commas in one pass over the bytes (cheaper than
        // `str::split` for many short fields); commas are ASCII, so every
        // cut is a char boundary.
        let mut fields = [""; MAX_FIELDS];
        let mut len = 0;
        let mut address = body;
        let mut start = None;
        for (i, b) in body.bytes().enumerate() {
            if b != b',' {
                continue;
            }
            match start {
                None => address = body.get(..i).unwrap_or_default(),
                Some(from) => {
                    if let Some(f) = fields.get_mut(len) {
                        *f = body.get(from..i).unwrap_or_default();
                    }
                    len += 1;
                }
            }
            start = Some(i + 1);
        }
        if let Some(from) = start {
            if let Some(f) = fields.get_mut(len) {
                *f = body.get(from..).unwrap_or_default();
            }
            len += 1;
        }
        let addr_ok = (3..=32).contains(&address.len())
            && address
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !addr_ok {
            return Err(Reject::Framing);
        }
        Ok(Self {
            address,
            fields,
            len: len.min(MAX_FIELDS),
        })
    }

    /// Data field `i` (0 = the first field after the address); empty when
    /// the sentence is shorter.
    pub(crate) fn get(&self, i: usize) -> &'a str {
        if i < self.len {
            self.fields.get(i).copied().unwrap_or_default()
        } else {
            ""
        }
    }

    /// Number of data fields (after the address).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Talker ID (`GP`, `GN`, ...) of a standard sentence.
    pub(crate) fn talker(&self) -> &'a str {
        &self.address[..2]
    }

    /// Sentence formatter (`GGA`, `RMC`, ...) of a standard sentence.
    pub(crate) fn formatter(&self) -> &'a str {
        &self.address[2..]
    }

    /// Proprietary sentences (`$P...`) carry a manufacturer code, not a talker.
    pub(crate) fn is_proprietary(&self) -> bool {
        self.address.starts_with('P')
    }
}

/// XOR of all bytes: the NMEA 0183 checksum of a sentence body.
pub(crate) fn checksum(body: &[u8]) -> u8 {
    body.iter().fold(0, |a, b| a ^ b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_upper_and_lower_case_hex() {
        let s = Sentence::parse(
            b"GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5*33",
            true,
        )
        .unwrap();
        assert_eq!(s.address, "GPGSA");
        assert_eq!(s.len(), 17);
        assert_eq!(s.get(1), "3");
        assert_eq!(s.get(16), "1.5");
        assert_eq!(s.get(17), "");
        let l = b"GNGSA,A,3,67,83,76,82,68,,,,,,,,1.56,0.91,1.27*1d";
        assert!(Sentence::parse(l, true).is_ok());
    }

    #[test]
    fn rejects_bad_or_missing_checksum() {
        let bad = b"GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5*34";
        assert_eq!(Sentence::parse(bad, true).unwrap_err(), Reject::Checksum);
        assert_eq!(Sentence::parse(bad, false).unwrap_err(), Reject::Checksum);
        let none = b"GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5";
        assert_eq!(Sentence::parse(none, true).unwrap_err(), Reject::Framing);
        assert_eq!(Sentence::parse(none, false).unwrap().get(16), "1.5");
        assert_eq!(
            Sentence::parse(b"GPGSA,A*3", true).unwrap_err(),
            Reject::Framing
        );
        assert_eq!(
            Sentence::parse(b"GPGSA,A*zz", true).unwrap_err(),
            Reject::Framing
        );
    }

    #[test]
    fn rejects_corrupt_addresses() {
        assert_eq!(
            Sentence::parse(b"GP,1", false).unwrap_err(),
            Reject::Framing
        );
        assert_eq!(
            Sentence::parse(b"GPV427.00,1", false).unwrap_err(),
            Reject::Framing
        );
        assert_eq!(
            Sentence::parse(b"gpgga,1", false).unwrap_err(),
            Reject::Framing
        );
    }
}
