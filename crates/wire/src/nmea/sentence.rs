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
    /// The body without checksum: address and fields.
    body: &'a str,
    /// Offsets of the first commas in `body` (the first ends the address);
    /// field `i` runs from comma `i` to comma `i + 1` or the end. Offsets,
    /// not slices: a sentence is small enough to move without a memcpy.
    commas: [u16; MAX_FIELDS + 1],
    /// Commas recorded in `commas` (one more than the fields kept when the
    /// sentence has more, so the last kept field still ends at a comma).
    recorded: usize,
}

impl<'a> Sentence<'a> {
    /// Checks and splits a sentence body (the bytes between `$` and CR/LF).
    pub(crate) fn parse(line: &'a [u8], require_checksum: bool) -> Result<Self, Reject> {
        // The framer only passes printable ASCII, so this cannot fail; map
        // it to a framing error anyway rather than trusting that.
        let line = std::str::from_utf8(line).map_err(|_| Reject::Framing)?;
        let body = match line.rfind('*') {
            Some(star) => {
                let (body, sum) = (&line[..star], line[star + 1..].trim_ascii_end());
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
            None => line.trim_ascii_end(),
        };
        if body.len() > usize::from(u16::MAX) {
            return Err(Reject::Framing);
        }
        // Split at commas in one pass over the bytes (cheaper than
        // `str::split` for many short fields); commas are ASCII, so every
        // cut is a char boundary.
        let mut commas = [0u16; MAX_FIELDS + 1];
        let mut recorded = 0;
        for (i, b) in body.bytes().enumerate() {
            if b != b',' {
                continue;
            }
            let Some(c) = commas.get_mut(recorded) else {
                break;
            };
            // `body` is at most u16::MAX bytes long (checked above).
            *c = i as u16;
            recorded += 1;
        }
        let address = match commas.first() {
            Some(&c) if recorded > 0 => body.get(..usize::from(c)).unwrap_or_default(),
            _ => body,
        };
        let addr_ok = (3..=32).contains(&address.len())
            && address
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !addr_ok {
            return Err(Reject::Framing);
        }
        Ok(Self {
            address,
            body,
            commas,
            recorded,
        })
    }

    /// Data field `i` (0 = the first field after the address); empty when
    /// the sentence is shorter.
    pub(crate) fn get(&self, i: usize) -> &'a str {
        if i >= self.len() {
            return "";
        }
        let Some(&comma) = self.commas.get(i) else {
            return "";
        };
        let start = usize::from(comma) + 1;
        let end = if i + 1 < self.recorded {
            self.commas
                .get(i + 1)
                .map_or(self.body.len(), |&c| usize::from(c))
        } else {
            self.body.len()
        };
        self.body.get(start..end).unwrap_or_default()
    }

    /// Number of data fields (after the address).
    pub(crate) fn len(&self) -> usize {
        // One field after each comma.
        self.recorded.min(MAX_FIELDS)
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

    /// The checksum covers the whole body, also past the fields that are
    /// split (more commas than `MAX_FIELDS`): a flipped byte there is a
    /// checksum error, and the right sum is accepted.
    #[test]
    fn checksum_covers_fields_past_the_split_ones() {
        let body = format!("GPXYZ{}", ",1".repeat(MAX_FIELDS + 10));
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        let good = format!("{body}*{sum:02X}");
        assert!(Sentence::parse(good.as_bytes(), true).is_ok());
        let bad = good.replacen(",1*", ",2*", 1);
        assert_eq!(
            Sentence::parse(bad.as_bytes(), true).unwrap_err(),
            Reject::Checksum
        );
    }

    proptest::proptest! {
        #[test]
        fn fields_are_the_comma_separated_parts_after_the_address(
            parts in proptest::collection::vec("[A-Z0-9.]{0,6}", 1..60),
        ) {
            let mut parts = parts;
            parts[0] = "GPXYZ".to_owned();
            let body = parts.join(",");
            let s = Sentence::parse(body.as_bytes(), false).unwrap();
            proptest::prop_assert_eq!(s.address, "GPXYZ");
            let want: Vec<&str> = parts.iter().skip(1).take(MAX_FIELDS).map(String::as_str).collect();
            proptest::prop_assert_eq!(s.len(), want.len());
            for i in 0..MAX_FIELDS + 2 {
                proptest::prop_assert_eq!(s.get(i), want.get(i).copied().unwrap_or(""));
            }
        }
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
