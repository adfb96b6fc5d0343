//! The dispatch table: which UBX messages the decoder uses, the shortest
//! payload each may have, and the parser that reads it into a [`Msg`].
//! ACK-ACK and ACK-NAK never reach it: the decoder hands them to the
//! set-up ([`super::setup`]). Anything else with a good checksum
//! (RXM-SFRBX, RXM-RAWX, TIM-TP, ESF, NAV-SIG, MON, ...) is counted as
//! unknown and skipped.

use super::message::{
    hnr_pvt, Ecef, Msg, NavDop, NavPvt, NavSol, NavStatus, NavTimeGps, NavTimeUtc, Payload, PosLlh,
    Sats, VelNed,
};

/// One row of the dispatch table.
pub(crate) struct Entry {
    /// Message class.
    pub(crate) class: u8,
    /// Message id within the class.
    pub(crate) id: u8,
    /// u-blox name ("NAV-PVT"), the `cycle_end` of fixes it closes.
    pub(crate) name: &'static str,
    /// A shorter payload is a decode error.
    pub(crate) min_len: usize,
    /// Reads the payload (at least `min_len` bytes).
    pub(crate) parse: for<'a> fn(Payload<'a>) -> Msg<'a>,
}

/// Class of the navigation results.
pub(crate) const NAV: u8 = 0x01;
/// Class of the high-rate navigation results.
pub(crate) const HNR: u8 = 0x28;

/// Every message the decoder uses. Minimum lengths are the oldest
/// documented payloads (NAV-PVT is 84 bytes on u-blox 7, 92 later).
pub(crate) const TABLE: &[Entry] = &[
    Entry {
        class: NAV,
        id: 0x07,
        name: "NAV-PVT",
        min_len: 84,
        parse: |p| Msg::Pvt(NavPvt::parse(p)),
    },
    Entry {
        class: HNR,
        id: 0x00,
        name: "HNR-PVT",
        min_len: 72,
        parse: |p| Msg::HnrPvt(hnr_pvt(p)),
    },
    Entry {
        class: NAV,
        id: 0x06,
        name: "NAV-SOL",
        min_len: 52,
        parse: |p| Msg::Sol(NavSol::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x02,
        name: "NAV-POSLLH",
        min_len: 28,
        parse: |p| Msg::PosLlh(PosLlh::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x14,
        name: "NAV-HPPOSLLH",
        min_len: 36,
        parse: |p| Msg::HpPosLlh(PosLlh::parse_hp(p)),
    },
    Entry {
        class: NAV,
        id: 0x01,
        name: "NAV-POSECEF",
        min_len: 20,
        parse: |p| Msg::PosEcef(Ecef::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x11,
        name: "NAV-VELECEF",
        min_len: 20,
        parse: |p| Msg::VelEcef(Ecef::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x12,
        name: "NAV-VELNED",
        min_len: 36,
        parse: |p| Msg::VelNed(VelNed::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x03,
        name: "NAV-STATUS",
        min_len: 16,
        parse: |p| Msg::Status(NavStatus::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x04,
        name: "NAV-DOP",
        min_len: 18,
        parse: |p| Msg::Dop(NavDop::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x20,
        name: "NAV-TIMEGPS",
        min_len: 16,
        parse: |p| Msg::TimeGps(NavTimeGps::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x21,
        name: "NAV-TIMEUTC",
        min_len: 20,
        parse: |p| Msg::TimeUtc(NavTimeUtc::parse(p)),
    },
    Entry {
        class: NAV,
        id: 0x35,
        name: "NAV-SAT",
        min_len: 8,
        parse: |p| Msg::Sat(Sats::nav_sat(p)),
    },
    Entry {
        class: NAV,
        id: 0x30,
        name: "NAV-SVINFO",
        min_len: 8,
        parse: |p| Msg::SvInfo(Sats::nav_svinfo(p)),
    },
    Entry {
        class: NAV,
        id: 0x61,
        name: "NAV-EOE",
        min_len: 4,
        parse: |p| Msg::Eoe(p.u4(0)),
    },
];

/// What dispatching one checked frame gave.
#[derive(Debug)]
pub(crate) enum Dispatched<'a> {
    /// A message we use, read, and its table row.
    Known(&'static Entry, Msg<'a>),
    /// Not in the table.
    Unknown,
    /// In the table but shorter than its minimum.
    Short(&'static Entry),
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Looks the frame up in [`TABLE`] and parses it.
pub(crate) fn dispatch(class: u8, id: u8, payload: &[u8]) -> Dispatched<'_> {
    let Some(entry) = TABLE.iter().find(|e| e.class == class && e.id == id) else {
        return Dispatched::Unknown;
    };
    if payload.len() < entry.min_len {
        return Dispatched::Short(entry);
    }
    Dispatched::Known(entry, (entry.parse)(Payload(payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_parses_its_minimum_and_rejects_one_byte_less() {
        for e in TABLE {
            let payload = vec![0u8; e.min_len];
            assert!(
                matches!(dispatch(e.class, e.id, &payload), Dispatched::Known(k, _) if k.name == e.name),
                "{}",
                e.name
            );
            if e.min_len > 0 {
                assert!(
                    matches!(dispatch(e.class, e.id, &payload[1..]), Dispatched::Short(_)),
                    "{} short",
                    e.name
                );
            }
        }
    }

    #[test]
    fn table_has_no_duplicate_and_other_messages_are_unknown() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert!((a.class, a.id) != (b.class, b.id), "{} {}", a.name, b.name);
            }
        }
        // RXM-SFRBX, RXM-RAWX, TIM-TP, NAV-SIG, ESF-MEAS.
        for (class, id) in [
            (0x02, 0x13),
            (0x02, 0x15),
            (0x0d, 0x01),
            (0x01, 0x43),
            (0x10, 0x02),
        ] {
            assert!(matches!(dispatch(class, id, &[0; 64]), Dispatched::Unknown));
        }
    }
}
