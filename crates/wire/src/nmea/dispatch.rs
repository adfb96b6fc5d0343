//! The dispatch table: which sentence formatters we use, how many fields
//! each needs at least, and the parser that reads them into an [`Update`].
//! Any talker ID is accepted (`GP`, `GN`, `GL`, `GA`, `GB`, `BD`, `GQ`, `QZ`
//! and unknown ones); proprietary `$P...` sentences, including `$PQGSV` /
//! `$PQGSA` whose `PQ` looks like a talker, never reach this table.

use super::field::Malformed;
use super::sentence::Sentence;
use super::update::{self, Update};

/// One row of the dispatch table.
pub(crate) struct Entry {
    /// Sentence formatter, the address without its talker (`GGA`).
    pub(crate) tag: &'static str,
    /// Fewer data fields than this is a malformed sentence.
    pub(crate) min_fields: usize,
    /// Reads the fields; `Err` for a field that is present but unreadable.
    pub(crate) parse: fn(&Sentence<'_>) -> Result<Update, Malformed>,
}

/// Every sentence the decoder uses. Minimum field counts are those of
/// NMEA 0183 2.x (later versions only append fields).
pub(crate) const TABLE: &[Entry] = &[
    Entry {
        tag: "GGA",
        min_fields: 12,
        parse: update::gga,
    },
    Entry {
        tag: "RMC",
        min_fields: 9,
        parse: update::rmc,
    },
    Entry {
        tag: "GSA",
        min_fields: 17,
        parse: update::gsa,
    },
    Entry {
        tag: "GSV",
        min_fields: 3,
        parse: update::gsv,
    },
    Entry {
        tag: "VTG",
        min_fields: 8,
        parse: update::vtg,
    },
    Entry {
        tag: "GLL",
        min_fields: 4,
        parse: update::gll,
    },
    Entry {
        tag: "GST",
        min_fields: 8,
        parse: update::gst,
    },
    Entry {
        tag: "GBS",
        min_fields: 4,
        parse: update::gbs,
    },
    Entry {
        tag: "ZDA",
        min_fields: 4,
        parse: update::zda,
    },
    Entry {
        tag: "GNS",
        min_fields: 12,
        parse: update::gns,
    },
];

/// What dispatching one checked sentence gave.
// Lives on the stack for one sentence; boxing `Update` would allocate per
// sentence for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Dispatched {
    /// A sentence we use, read into its update.
    Known(Update),
    /// Well-formed but not in the table (proprietary, TXT, HDT, ...).
    Unknown,
    /// In the table but too short or with an unreadable field.
    Malformed,
}

/// Looks the sentence up in [`TABLE`] and parses it.
pub(crate) fn dispatch(s: &Sentence<'_>) -> Dispatched {
    if s.is_proprietary() || s.address.len() != 5 {
        return Dispatched::Unknown;
    }
    let Some(entry) = TABLE.iter().find(|e| e.tag == s.formatter()) else {
        return Dispatched::Unknown;
    };
    if s.len() < entry.min_fields {
        return Dispatched::Malformed;
    }
    match (entry.parse)(s) {
        Ok(u) => Dispatched::Known(u),
        Err(Malformed) => Dispatched::Malformed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A minimal valid sentence per formatter, with exactly `min_fields`
    /// fields.
    fn minimal(tag: &str) -> &'static str {
        match tag {
            "GGA" => "GPGGA,120000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,47.0,M",
            "RMC" => "GPRMC,120000.00,A,4807.038,N,01131.000,E,0.0,0.0,010127",
            "GSA" => "GPGSA,A,3,01,02,03,04,,,,,,,,,1.5,0.9,1.2",
            "GSV" => "GPGSV,1,1,00",
            "VTG" => "GPVTG,0.0,T,,M,0.0,N,0.0,K",
            "GLL" => "GPGLL,4807.038,N,01131.000,E",
            "GST" => "GPGST,120000.00,1.2,0.5,0.4,30.0,0.3,0.4,0.8",
            "GBS" => "GPGBS,120000.00,1.0,1.0,3.1",
            "ZDA" => "GPZDA,120000.00,01,01,2027",
            "GNS" => "GNGNS,120000.00,4807.038,N,01131.000,E,AN,08,0.9,545.4,47.0,,",
            _ => unreachable!("no minimal sentence for {tag}"),
        }
    }

    #[test]
    fn every_entry_parses_its_minimal_sentence_and_rejects_one_field_less() {
        for e in TABLE {
            let full = minimal(e.tag);
            let s = Sentence::parse(full.as_bytes(), false).unwrap();
            assert_eq!(s.len(), e.min_fields, "{}", e.tag);
            match dispatch(&s) {
                Dispatched::Known(u) => assert_eq!(u.tag(), e.tag),
                other => panic!("{}: {other:?}", e.tag),
            }
            let short = &full[..full.rfind(',').unwrap()];
            let s = Sentence::parse(short.as_bytes(), false).unwrap();
            assert!(
                matches!(dispatch(&s), Dispatched::Malformed),
                "{} short",
                e.tag
            );
        }
    }

    #[test]
    fn any_talker_is_accepted_and_proprietary_sentences_are_unknown() {
        for talker in ["GP", "GN", "GL", "GA", "GB", "BD", "GQ", "QZ", "GI", "XY"] {
            let line = format!("{talker}ZDA,120000.00,01,01,2027,00,00");
            let s = Sentence::parse(line.as_bytes(), false).unwrap();
            assert!(
                matches!(dispatch(&s), Dispatched::Known(Update::Zda(_))),
                "{talker}"
            );
        }
        for line in [
            "PQGSV,1,1,01,201,10,100,30",
            "PMTK001,604,3",
            "GPTXT,01,01,02,X",
            "GPHDT,1.0,T",
        ] {
            let s = Sentence::parse(line.as_bytes(), false).unwrap();
            assert!(matches!(dispatch(&s), Dispatched::Unknown), "{line}");
        }
    }
}
