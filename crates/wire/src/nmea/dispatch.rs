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
