//! The fix mode as gpsd reports it for the same sentences.
//!
//! NMEA has no single field for the fix mode: GSA carries it, GGA implies
//! it (an altitude from four satellites is a 3D solution), RMC and GLL only
//! say "valid", and many receivers send GSA or GGA only in some cycles.
//! Clients written for gpsd (and its regression output) expect gpsd's
//! answer, so this module follows gpsd's `driver_nmea0183.c` and the
//! merging of `libgpsd_core.c`, sentence by sentence:
//! - every sentence starts from an empty mode; one that does not speak of
//!   the mode (GSV, VTG, ZDA, GST, a GSA ignored as below) leaves the mode
//!   of the cycle as it is, and a cycle none of whose sentences speak of it
//!   (only a ZDA, say) has no mode (`NOT_SEEN`); RMC and GLL speak of it
//!   (see below);
//! - GGA: a position is 2D, with an altitude and at least 4 satellites
//!   used 3D; fewer than 3 satellites used, no position, or quality 0 is
//!   no fix (and a quality-0 altitude is not the fix's altitude);
//! - GNS: mode indicator empty or `N` is no fix; navigation status `U`/`V`
//!   says nothing; a position is 2D, with an altitude and more than 3
//!   satellites 3D;
//! - RMC: status other than `A`/`D` is no fix; with a position, 2D, or 3D
//!   when the last fix was 3D; then 3D when the last GSAs listed more than
//!   3 satellites or the fix in progress has an altitude;
//! - GLL: status empty or `V`, or mode indicator `N`, is no fix; else 3D
//!   with an altitude in the fix in progress or more than 3 GSA
//!   satellites, else 2D (unless the fix is already 2D/3D and the previous
//!   fix had an altitude: then unchanged; gpsd leaves the mode "not seen"
//!   there, which a 3D fix survives by the rule below and a 2D one would
//!   not: the decoder keeps 2D, the one deliberate difference);
//! - GSA: its mode field, except after a GGA whose time did not advance
//!   (a receiver that lost lock and repeats itself), and except a `GPGSA`
//!   once another constellation's GSA (GN, GL, GA, BD/GB, GI, QZ/GQ) has
//!   been seen: gpsd takes the mode of such receivers from the other GSAs;
//! - a sentence that sets a mode other than no fix while the fix in
//!   progress is 3D keeps 3D when one of the last two fixes had an
//!   altitude (gpsd's "don't downgrade mode if holding previous fix").
//!
//! A gpsd cycle starts at a sentence whose time of day differs from the
//! last time seen (by more than 10 ms): the fix in progress is cleared
//! after that sentence's mode was computed from it.

use super::field::TimeOfDay;
use super::update::Update;

/// gpsd's modes: 0 not seen, 1 no fix, 2 2D, 3 3D.
const NOT_SEEN: u8 = 0;
const NO_FIX: u8 = 1;
const MODE_2D: u8 = 2;
const MODE_3D: u8 = 3;

/// What gpsd keeps of one fix for the mode rules.
#[derive(Debug, Clone, Copy, Default)]
struct FixState {
    mode: u8,
    altitude: bool,
    time: Option<TimeOfDay>,
}

/// gpsd's fix-mode state machine (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct ModeTracker {
    /// The fix in progress (gpsd's `gpsdata.fix`).
    fix: FixState,
    /// The fix after the last sentence with a time (`lastfix`).
    last: FixState,
    /// The fix before the time last moved (`oldfix`).
    old: FixState,
    /// Satellites listed by the last GSAs (gpsd's `satellites_used`).
    gsa_used: usize,
    /// Talker letter (second character) of the GSA just before, if the
    /// sentence before was a GSA.
    last_gsa_talker: Option<u8>,
    /// A GSA of another constellation than GP has been seen.
    other_gsa_seen: bool,
    /// Talker letter of the last GGA and its time.
    last_gga: Option<(u8, Option<TimeOfDay>)>,
    /// The last GGA repeated the time of the one before.
    latched: bool,
    /// Time of the last sentence with a time (cycle start detection).
    last_time: Option<TimeOfDay>,
}

/// 10 ms: times closer than this are the same cycle (gpsd's test).
const SAME_TIME_NANOS: u64 = 10_000_000;

impl ModeTracker {
    /// The mode of the fix in progress: 0 not seen, 1 no fix, 2, 3.
    pub(crate) fn mode(&self) -> u8 {
        self.fix.mode
    }

    /// Applies one sentence, in arrival order. `dated`: a date is known
    /// (gpsd sets fix times only then).
    pub(crate) fn apply(&mut self, talker: &str, u: &Update, dated: bool) {
        let letter = talker.as_bytes().get(1).copied().unwrap_or(b'?');
        let (set, altitude) = self.mode_of(letter, u);
        if !matches!(u, Update::Gsa(_)) {
            self.last_gsa_talker = None;
        }
        let mut new = set;
        if let Some(m) = new {
            let history = self.last.altitude || self.old.altitude;
            if self.fix.mode == MODE_3D && m != NO_FIX && history {
                new = Some(MODE_3D);
            }
        }
        // A cycle starts at a sentence with a new time: the fix in progress
        // is cleared after its mode was computed.
        let time = frac_time(u);
        if let Some(t) = time {
            if self
                .last_time
                .is_none_or(|last| t.abs_diff(last) > SAME_TIME_NANOS)
            {
                self.fix = FixState::default();
            }
            self.last_time = Some(t);
        }
        if let Some(m) = new {
            self.fix.mode = m;
        }
        if altitude {
            self.fix.altitude = true;
        }
        if dated {
            if let Some(t) = time {
                self.fix.time = Some(t);
            }
        }
        // gpsd's error model: `oldfix` when the time moved, `lastfix` after
        // every sentence of a fix with a time.
        if let Some(t) = self.fix.time {
            if self
                .last
                .time
                .is_none_or(|last| t.abs_diff(last) >= SAME_TIME_NANOS)
            {
                self.old = self.last;
            }
            self.last = self.fix;
        }
    }

    /// The mode one sentence sets (`None`: it says nothing of the mode),
    /// and whether it brings an altitude.
    fn mode_of(&mut self, letter: u8, u: &Update) -> (Option<u8>, bool) {
        match u {
            Update::Gga(g) => {
                let repeat = match self.last_gga {
                    Some((t, _)) if t != letter => false,
                    Some((_, time)) => time == g.time,
                    None => g.time.is_none(),
                };
                self.latched = repeat;
                self.last_gga = Some((letter, g.time));
                let sats = g.sats_used.unwrap_or(0);
                if g.quality == Some(0) {
                    // No fix: its position and altitude are not merged.
                    (Some(NO_FIX), false)
                } else if g.lat.is_some() && g.lon.is_some() {
                    let mut m = MODE_2D;
                    if g.alt_msl.is_some() && sats >= 4 {
                        m = MODE_3D;
                    }
                    if sats < 3 {
                        m = NO_FIX;
                    }
                    (Some(m), g.alt_msl.is_some())
                } else {
                    (Some(NO_FIX), false)
                }
            }
            Update::Gns(g) => match g.lead_mode {
                None | Some(b'N') => (Some(NO_FIX), false),
                _ if matches!(g.nav_status, Some(b'U' | b'V')) => (None, false),
                _ if g.lat.is_some() && g.lon.is_some() => {
                    let three_d = g.alt_msl.is_some() && g.sats_used.unwrap_or(0) > 3;
                    (
                        Some(if three_d { MODE_3D } else { MODE_2D }),
                        g.alt_msl.is_some(),
                    )
                }
                _ => (Some(NO_FIX), false),
            },
            Update::Rmc(r) => {
                if !matches!(r.status, Some(b'A' | b'D')) {
                    return (Some(NO_FIX), false);
                }
                let mut m = if r.lat.is_some() && r.lon.is_some() {
                    if self.last.mode <= MODE_2D {
                        MODE_2D
                    } else {
                        MODE_3D
                    }
                } else {
                    NO_FIX
                };
                if self.gsa_used > 3 || self.fix.altitude {
                    m = MODE_3D;
                }
                (Some(m), false)
            }
            Update::Gll(g) => {
                let valid = g.status == Some(b'A')
                    && g.mode != Some(b'N')
                    && g.lat.is_some()
                    && g.lon.is_some();
                if !valid {
                    return (Some(NO_FIX), false);
                }
                let m = if self.fix.altitude || self.gsa_used > 3 {
                    MODE_3D
                } else if self.fix.mode < MODE_2D || !self.old.altitude {
                    MODE_2D
                } else {
                    self.fix.mode
                };
                (Some(m), false)
            }
            Update::Gsa(g) => {
                // After a GGA whose time did not advance, gpsd ignores GSA.
                if self.latched {
                    return (None, false);
                }
                let previous = self.last_gsa_talker;
                // A run of GSAs of one cycle accumulates; a new run (or a
                // GPGSA after a GPGSA) starts the list again.
                if previous.is_none() || (previous == Some(letter) && letter != b'N') {
                    self.gsa_used = 0;
                }
                self.gsa_used = self.gsa_used.saturating_add(g.count);
                self.last_gsa_talker = Some(letter);
                if matches!(
                    letter,
                    b'N' | b'L' | b'A' | b'B' | b'D' | b'I' | b'Q' | b'Z'
                ) {
                    self.other_gsa_seen = true;
                }
                if letter == b'P' && self.other_gsa_seen {
                    return (None, false);
                }
                let m = g
                    .mode
                    .and_then(|m| u8::try_from(m).ok())
                    .unwrap_or(NOT_SEEN);
                (Some(m), false)
            }
            Update::Gsv(_) | Update::Vtg(_) | Update::Gst(_) | Update::Gbs(_) | Update::Zda(_) => {
                (None, false)
            }
        }
    }
}

/// The time gpsd registers as the sentence's cycle time: GGA, GNS, GLL and
/// ZDA with a time, RMC only when it is valid and dated (GST's time refers
/// to another sentence).
fn frac_time(u: &Update) -> Option<TimeOfDay> {
    match u {
        Update::Gga(g) => g.time,
        Update::Gns(g) => g.time,
        Update::Gll(g) => g.time,
        Update::Zda(z) => z.time,
        Update::Rmc(r) if matches!(r.status, Some(b'A' | b'D')) && r.date.is_some() => r.time,
        _ => None,
    }
}
