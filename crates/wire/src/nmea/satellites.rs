//! Satellites: constellation of a satellite from talker, system ID and PRN
//! range; GSV sets assembled into sky entries; GSA "used" lists.
//!
//! # How a sky view is carried
//! A GSV *set* (the n sentences of one talker, numbered 1..n) becomes sky
//! entries
//! only when its last sentence arrives, and then belongs to the cycle that is
//! being assembled at that moment. A set still incomplete when its cycle is
//! emitted carries on into the next cycle (it is never cut in half or
//! mixed). Receivers that send GSV only every few cycles therefore give
//! some fixes a sky and others an empty one: the sky of a fix is always
//! what arrived with it, never a stale copy.

use dronetel_proto::v1::{Constellation, SatelliteInfo};

use super::update::{Gsa, Gsv};

/// Constellation of a satellite from the sentence talker, the NMEA 4.10
/// system ID (GSA) and the NMEA PRN numbering ranges.
pub(crate) fn constellation(talker: &str, system: Option<u32>, prn: u32) -> Constellation {
    let by_system = match system {
        Some(1) => Some(Constellation::Gps),
        Some(2) => Some(Constellation::Glonass),
        Some(3) => Some(Constellation::Galileo),
        Some(4) => Some(Constellation::Beidou),
        Some(5) => Some(Constellation::Qzss),
        Some(6) => Some(Constellation::Navic),
        _ => None,
    };
    let by_talker = match talker {
        "GP" => Some(Constellation::Gps),
        "GL" => Some(Constellation::Glonass),
        "GA" => Some(Constellation::Galileo),
        "GB" | "BD" => Some(Constellation::Beidou),
        "GQ" | "QZ" => Some(Constellation::Qzss),
        "GI" => Some(Constellation::Navic),
        _ => None,
    };
    match by_system.or(by_talker) {
        // GPS talkers also report SBAS (33..=64, 120..=158 in some receivers)
        // and sometimes QZSS (193..=202).
        Some(Constellation::Gps) => match prn {
            33..=64 | 120..=158 => Constellation::Sbas,
            193..=202 => Constellation::Qzss,
            _ => Constellation::Gps,
        },
        Some(c) => c,
        None => match prn {
            1..=32 => Constellation::Gps,
            33..=64 | 120..=158 => Constellation::Sbas,
            65..=96 => Constellation::Glonass,
            193..=202 => Constellation::Qzss,
            201..=263 | 401..=463 => Constellation::Beidou,
            301..=336 => Constellation::Galileo,
            _ => Constellation::Unspecified,
        },
    }
}

/// A GSV set being received.
#[derive(Debug)]
struct PendingSet {
    talker: [u8; 2],
    total_msgs: u32,
    next_msg: u32,
    sats: Vec<SatelliteInfo>,
}

/// A completed GSV set, ready to join a cycle.
#[derive(Debug)]
pub(crate) struct CompletedSet {
    /// Satellites of the set, one entry per satellite and signal.
    pub(crate) sats: Vec<SatelliteInfo>,
}

/// Assembles GSV sentences into sets, per talker. The NMEA 4.10 signal ID
/// is per sentence: u-blox sends one set per signal, Quectel numbers one set
/// across signals (`4,1..3` on L1 and `4,4` on L5), so sets are keyed by
/// talker alone and each satellite keeps the signal of its sentence.
#[derive(Debug, Default)]
pub(crate) struct GsvSets {
    pending: Vec<PendingSet>,
}

/// More sets than this in progress at once means garbage; the oldest goes.
const MAX_PENDING: usize = 16;

impl GsvSets {
    /// Adds one GSV sentence; returns the set it completed, if any.
    /// Out-of-sequence sentences drop the partial set they belong to.
    pub(crate) fn push(&mut self, talker: &str, g: &Gsv) -> Option<CompletedSet> {
        let t: [u8; 2] = talker.as_bytes().try_into().unwrap_or([b'?', b'?']);
        let idx = self.pending.iter().position(|p| p.talker == t);
        if g.msg_num == 1 {
            if let Some(i) = idx {
                self.pending.remove(i);
            }
            if self.pending.len() >= MAX_PENDING {
                self.pending.remove(0);
            }
            self.pending.push(PendingSet {
                talker: t,
                total_msgs: g.total_msgs,
                next_msg: 1,
                sats: Vec::with_capacity(4 * g.total_msgs.min(10) as usize),
            });
        } else if idx.is_none() {
            return None;
        }
        let i = idx
            .filter(|_| g.msg_num != 1)
            .unwrap_or(self.pending.len() - 1);
        let set = self.pending.get_mut(i)?;
        if set.next_msg != g.msg_num || set.total_msgs != g.total_msgs {
            self.pending.remove(i);
            return None;
        }
        for s in g.sats.get(..g.count).unwrap_or_default() {
            set.sats.push(SatelliteInfo {
                constellation: constellation(talker, None, s.prn) as i32,
                prn: s.prn,
                elevation_deg: s.elevation,
                azimuth_deg: s.azimuth,
                snr_dbhz: s.snr,
                used: false,
                signal_id: g.signal,
            });
        }
        set.next_msg += 1;
        if g.msg_num < g.total_msgs {
            return None;
        }
        let set = self.pending.remove(i);
        Some(CompletedSet { sats: set.sats })
    }
}

/// Most satellites a cycle's GSA lists may name (bounds garbage input).
const MAX_USED: usize = 256;

/// Satellites listed as used by the GSA sentences of a cycle.
#[derive(Debug, Default)]
pub(crate) struct UsedList {
    sats: Vec<(Constellation, u32)>,
}

impl UsedList {
    /// Adds the satellites of one GSA sentence.
    pub(crate) fn add(&mut self, talker: &str, g: &Gsa) {
        for &prn in g.prns.get(..g.count).unwrap_or_default() {
            let c = constellation(talker, g.system, prn);
            if self.sats.len() < MAX_USED && !self.sats.contains(&(c, prn)) {
                self.sats.push((c, prn));
            }
        }
    }

    /// Number of distinct satellites listed.
    pub(crate) fn len(&self) -> usize {
        self.sats.len()
    }

    /// Whether a sky entry is listed as used. A GSA entry whose
    /// constellation could not be told matches by PRN alone.
    pub(crate) fn contains(&self, sat: &SatelliteInfo) -> bool {
        self.sats.iter().any(|&(c, prn)| {
            prn == sat.prn
                && (c as i32 == sat.constellation
                    || c == Constellation::Unspecified
                    || sat.constellation == Constellation::Unspecified as i32)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::nmea::update::GsvSat;

    fn gsv(total: u32, num: u32, prns: &[u32], signal: Option<u32>) -> Gsv {
        let mut g = Gsv {
            total_msgs: total,
            msg_num: num,
            signal,
            ..Gsv::default()
        };
        for &p in prns {
            g.sats[g.count] = GsvSat {
                prn: p,
                ..GsvSat::default()
            };
            g.count += 1;
        }
        g
    }

    #[test]
    fn constellations() {
        assert_eq!(constellation("GP", None, 5), Constellation::Gps);
        assert_eq!(constellation("GP", None, 46), Constellation::Sbas);
        assert_eq!(constellation("GN", None, 70), Constellation::Glonass);
        assert_eq!(constellation("GN", Some(3), 5), Constellation::Galileo);
        assert_eq!(constellation("QZ", None, 193), Constellation::Qzss);
        assert_eq!(constellation("BD", None, 7), Constellation::Beidou);
        assert_eq!(constellation("XX", None, 999), Constellation::Unspecified);
    }

    #[test]
    fn sets_complete_in_order_only() {
        let mut s = GsvSets::default();
        assert!(s.push("GP", &gsv(2, 1, &[1, 2, 3, 4], None)).is_none());
        let done = s.push("GP", &gsv(2, 2, &[5], None)).unwrap();
        assert_eq!(done.sats.len(), 5);
        // Out of sequence: dropped.
        assert!(s.push("GP", &gsv(3, 1, &[1], None)).is_none());
        assert!(s.push("GP", &gsv(3, 3, &[1], None)).is_none());
        assert!(s.push("GP", &gsv(3, 2, &[1], None)).is_none());
        // One set numbered across signals (Quectel): one set, each
        // satellite with the signal of its sentence.
        assert!(s.push("GA", &gsv(2, 1, &[103, 136], Some(6))).is_none());
        let done = s.push("GA", &gsv(2, 2, &[103, 136], Some(1))).unwrap();
        let sig: Vec<_> = done.sats.iter().map(|s| (s.prn, s.signal_id)).collect();
        assert_eq!(
            sig,
            [
                (103, Some(6)),
                (136, Some(6)),
                (103, Some(1)),
                (136, Some(1))
            ]
        );
        // One set per signal (u-blox): each completes on its own.
        assert!(s.push("GP", &gsv(1, 1, &[1], Some(1))).is_some());
        assert!(s.push("GP", &gsv(1, 1, &[1], Some(6))).is_some());
    }
}
