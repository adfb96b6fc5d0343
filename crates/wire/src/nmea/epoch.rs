//! Epoch assembly: merges the sentences of one receiver cycle into one
//! [`GpsFix`] and publishes it as soon as the cycle is complete.
//!
//! # How the end of a cycle is found
//! Receivers send a burst of sentences per cycle (epoch), all carrying the
//! same time of day, and nothing says which sentence is the last one. Like
//! gpsd, we *learn* it: when a sentence with a new time of day arrives, the
//! sentence just before it closed the previous cycle, so its key becomes a
//! *cycle ender*. From then on a cycle is published right after its ender
//! arrives, with no added latency. Until the ender is learned (the first
//! cycle), a cycle is published when the next one begins, or by the
//! idle-gap fallback ([`Epoch::flush_idle`], called by the reader when the
//! line is quiet), which also teaches the ender.
//!
//! A key is (talker, formatter, occurrence in the cycle), so a receiver
//! sending two `GNGSA` per cycle learns "the second GNGSA", not the first.
//! For GSV only the last sentence of a set is an event. Keys also tell
//! whole-second cycles from sub-second ones: high-rate receivers (10 Hz GGA)
//! often add 1 Hz sentences (ZDA, RMC) at each whole second, so those cycles
//! end with another sentence and learn their own ender.
//!
//! Guards:
//! - an ender only publishes a cycle that contains a sentence with a time
//!   field; time-less sentences seen after a publication (GSA, GSV, VTG)
//!   open the next cycle;
//! - before the first time of day is seen (no fix since power-up, empty
//!   time fields), cycles are only told apart by the idle gap; the first
//!   sentence with a time closes what accumulated;
//! - if a sentence with the time of the cycle just published arrives later,
//!   the ender fired too early (receivers whose cycle shape varies): that
//!   ender is forgotten, the late sentence and the time-less tail before it
//!   are dropped (they belong to a cycle already published);
//! - at most [`MAX_ENDERS`] enders are kept.
//!
//! Every sentence also goes, in arrival order, to the fix-mode state
//! machine ([`ModeTracker`], gpsd's rules), whose mode a fix carries when it
//! is published; dates are corrected as `rollover` decides, with the
//! evidence the owner hands in ([`Epoch::set_evidence`]).

use std::collections::VecDeque;

use dronetel_proto::v1::{FixMode, GpsFix};
use tracing::{debug, info};

use super::cycle::{Context, Cycle};
use super::field::TimeOfDay;
use super::mode::ModeTracker;
use super::rollover::{self, Correction, TimeEvidence};
use super::satellites::GsvSets;
use super::update::Update;

/// Most learned cycle enders kept (receivers whose cycle shape varies
/// collect a few).
const MAX_ENDERS: usize = 8;

/// Most distinct (talker, sentence) pairs counted in one cycle.
const MAX_COUNTS: usize = 64;

/// Nanoseconds in a day.
const DAY_NANOS: u64 = 86_400 * 1_000_000_000;

/// A position in the cycle: (talker, formatter, nth occurrence), and
/// whether the cycle's time is a whole second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    talker: [u8; 2],
    tag: &'static str,
    nth: u8,
    /// `Some(true)` in a cycle at a whole second, `Some(false)` at a
    /// fraction, `None` before the cycle's time is known.
    whole_second: Option<bool>,
}

/// The epoch assembler.
#[derive(Debug)]
pub(crate) struct Epoch {
    floor: Option<(i32, u32, u32)>,
    /// Outside evidence of today's date (see [`rollover`]).
    evidence: Option<TimeEvidence>,
    /// The date correction of the last dated fix, logged when it changes.
    correction: Correction,
    /// gpsd's fix mode, fed every sentence.
    mode: ModeTracker,
    cycle: Cycle,
    sets: GsvSets,
    enders: Vec<Key>,
    counts: Vec<([u8; 2], &'static str, u8)>,
    last_key: Option<Key>,
    /// Most recent non-empty time of day seen.
    last_tod: Option<TimeOfDay>,
    /// Time of day of the cycle last published by its ender, and that ender.
    emitted_tod: Option<TimeOfDay>,
    fired: Option<Key>,
    /// Corrected day and time of day of the last fix with a time, to date
    /// cycles without RMC/ZDA (and to roll the date over at midnight).
    last_day: Option<(i64, TimeOfDay)>,
    /// Time (s) and altitude of the last 3D fix, for climb.
    last_3d: Option<(f64, f64)>,
}

impl Epoch {
    /// An assembler correcting dates against `floor` (see [`rollover`]).
    pub(crate) fn new(floor: Option<(i32, u32, u32)>) -> Self {
        Self {
            floor,
            evidence: None,
            correction: Correction::None,
            mode: ModeTracker::default(),
            cycle: Cycle::default(),
            sets: GsvSets::default(),
            enders: Vec::new(),
            counts: Vec::new(),
            last_key: None,
            last_tod: None,
            emitted_tod: None,
            fired: None,
            last_day: None,
            last_3d: None,
        }
    }

    /// Feeds one parsed sentence; completed fixes are pushed to `out`.
    pub(crate) fn push(&mut self, talker: &str, u: &Update, out: &mut VecDeque<GpsFix>) {
        if let Some(Some(t)) = u.time() {
            if self.last_tod.is_some_and(|last| last != t) {
                self.boundary(out);
            } else if self.last_tod.is_none() && self.cycle.timed && self.cycle.tod.is_none() {
                // A receiver without a fix since power-up sends empty time
                // fields; the first real time closes those no-fix cycles
                // (merged into one, since nothing separated them). Their
                // sentence counts are meaningless, so nothing is learned.
                self.emit(self.last_key.map_or("", |k| k.tag), out);
            } else if self.cycle.tod.is_none() && self.emitted_tod == Some(t) {
                self.late(talker, u);
                return;
            }
            self.last_tod = Some(t);
        }
        let event = match u {
            Update::Gsv(g) => match self.sets.push(talker, g) {
                Some(set) => {
                    self.cycle.add_set(set);
                    true
                }
                None => false,
            },
            _ => true,
        };
        self.cycle.apply(talker, u);
        let dated = self.cycle.date.is_some() || self.last_day.is_some();
        self.mode.apply(talker, u, dated);
        if !event {
            return;
        }
        let key = self.key(talker, u.tag());
        self.last_key = Some(key);
        if self.cycle.timed && self.enders.contains(&key) {
            self.emitted_tod = self.cycle.tod;
            self.fired = Some(key);
            self.emit(key.tag, out);
        }
    }

    /// A timed cycle has begun and is not published yet: what
    /// [`Epoch::flush_idle`] would publish.
    pub(crate) fn in_cycle(&self) -> bool {
        self.cycle.timed
    }

    /// The line went quiet: publish the cycle in progress, if it has begun,
    /// and learn its last sentence as an ender.
    pub(crate) fn flush_idle(&mut self, out: &mut VecDeque<GpsFix>) {
        if self.cycle.timed {
            if let Some(k) = self.last_key {
                self.learn(k);
                self.emitted_tod = self.cycle.tod;
                self.fired = Some(k);
                self.emit(k.tag, out);
            }
        }
    }

    /// A sentence with a new time of day: the previous cycle is over.
    fn boundary(&mut self, out: &mut VecDeque<GpsFix>) {
        if let Some(k) = self.last_key {
            self.learn(k);
        }
        if self.cycle.timed {
            let tag = self.last_key.map_or("", |k| k.tag);
            self.emit(tag, out);
        } else {
            self.counts.clear();
        }
        self.fired = None;
        self.emitted_tod = None;
    }

    /// A timed sentence of the cycle already published by `self.fired`.
    fn late(&mut self, talker: &str, u: &Update) {
        if let Some(k) = self.fired.take() {
            debug!(
                ender = k.tag,
                late = u.tag(),
                "nmea cycle ender fired early; unlearned"
            );
            self.enders.retain(|e| *e != k);
        }
        self.cycle = Cycle::default();
        self.last_key = Some(self.key(talker, u.tag()));
    }

    fn learn(&mut self, k: Key) {
        if !self.enders.contains(&k) {
            if self.enders.len() >= MAX_ENDERS {
                self.enders.remove(0);
            }
            debug!(
                talker = %String::from_utf8_lossy(&k.talker),
                sentence = k.tag,
                nth = k.nth,
                "nmea cycle ender learned"
            );
            self.enders.push(k);
        }
    }

    fn key(&mut self, talker: &str, tag: &'static str) -> Key {
        let t: [u8; 2] = talker.as_bytes().try_into().unwrap_or([b'?', b'?']);
        let nth = match self
            .counts
            .iter_mut()
            .find(|(ct, ctag, _)| *ct == t && *ctag == tag)
        {
            Some((_, _, n)) => {
                *n = n.saturating_add(1);
                *n
            }
            None => {
                // Bounded: a cycle has a handful of (talker, sentence)
                // pairs; garbage talkers must not grow this.
                if self.counts.len() >= MAX_COUNTS {
                    self.counts.clear();
                }
                self.counts.push((t, tag, 1));
                1
            }
        };
        Key {
            talker: t,
            tag,
            nth,
            whole_second: self.cycle.tod.map(|t| t % 1_000_000_000 == 0),
        }
    }

    /// Publishes the current cycle and starts a new one.
    fn emit(&mut self, cycle_end: &str, out: &mut VecDeque<GpsFix>) {
        let cycle = std::mem::take(&mut self.cycle);
        self.counts.clear();
        let tod = cycle.tod;
        let remembered = match (self.last_day, tod) {
            // Past midnight since the last dated fix: next day.
            (Some((day, last)), Some(t)) if t + DAY_NANOS / 2 < last => Some(day + 1),
            (Some((day, _)), _) => Some(day),
            _ => None,
        };
        let ctx = Context {
            day: remembered,
            floor: self.floor,
            evidence: self.evidence,
            mode: self.mode.mode(),
        };
        let (mut fix, day, correction) = cycle.build(ctx);
        // Only a cycle with a date of its own says how dates are read: a
        // cycle on the remembered day says nothing new.
        if let Some(how) = correction.filter(|how| *how != self.correction) {
            self.log_correction(how);
        }
        if let (Some(day), Some(t)) = (day, tod) {
            fix.time = Some(rollover::timestamp(day, t));
            self.last_day = Some((day, t));
        }
        fix.cycle_end = cycle_end.to_owned();
        if let (Some(ts), Some(alt)) = (&fix.time, fix.altitude_msl_m) {
            if fix.mode == FixMode::FixMode3d as i32 {
                let secs = ts.seconds as f64 + f64::from(ts.nanos) * 1e-9;
                if let Some((t0, a0)) = self.last_3d {
                    let dt = secs - t0;
                    if dt > 0.0 && dt <= 60.0 {
                        fix.climb_mps = Some((alt - a0) / dt);
                    }
                }
                self.last_3d = Some((secs, alt));
            }
        }
        out.push_back(fix);
    }

    /// Sets (or withdraws) the outside evidence of today's date.
    pub(crate) fn set_evidence(&mut self, evidence: Option<TimeEvidence>) {
        self.evidence = evidence;
    }

    /// One log event per change of how receiver dates are read.
    fn log_correction(&mut self, how: Correction) {
        match how {
            Correction::None => info!("gps dates used as the receiver sends them"),
            Correction::Floor(k) => info!(
                rollovers = k,
                "gps receiver dates before 2000 are week rollover garbage; moved forward by 1024 weeks each"
            ),
            Correction::Evidence(k, source) => info!(
                rollovers = k,
                source = ?source,
                "gps receiver dates are 1024-week rollovers behind a trusted clock; corrected"
            ),
        }
        self.correction = how;
    }

    /// End of stream: publish what is pending.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<GpsFix>) {
        if self.cycle.timed {
            let tag = self.last_key.map_or("", |k| k.tag);
            self.emit(tag, out);
        }
    }
}
