//! The value contract: the valid range of every numeric field of every
//! reading, and [`enforce`], the one place that applies it for every
//! protocol. Decoders turn well-formed messages into readings without
//! judging the values; the daemon's sensor task passes each reading through
//! [`enforce`] before publishing it, so a new protocol gets the contract by
//! producing readings, with nothing to add.
//!
//! An invalid value (outside its range, NaN, infinite, an undefined enum
//! number, an over-long text) is removed: an optional field is left out, a
//! list entry (satellite, cell, tracked object) is dropped, and a reading
//! is dropped when a value it cannot go without is invalid or when nothing
//! but its metadata remains. Every removed value is counted; the daemon
//! reports the count as `SensorHealth.invalid_values`.
//!
//! # Layout
//! - this file: [`Bounds`], [`Check`] and [`Rule`] (one row of the table),
//!   [`enforce`] and the generic row interpreter.
//! - [`rules`]: the table, one row per field of every reading body; the
//!   ranges are written there once and mirrored as `Valid:` lines in
//!   `proto/telemetry.proto` (a test keeps the two equal).

pub mod rules;

#[cfg(test)]
mod tests;

use std::fmt;

use dronetel_proto::time::{duration_is_valid, timestamp_is_valid};
use dronetel_proto::v1::{BatteryState, GpsFix};

use crate::Reading;

/// The valid numbers of a field: `[min, max]`, or `[min, max)` when `max`
/// itself is excluded (angles that wrap at 360°). Neither NaN nor an
/// infinity is ever inside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value, or the first invalid one when `max_excluded`.
    pub max: f64,
    /// Whether `max` itself is invalid.
    pub max_excluded: bool,
}

impl Bounds {
    /// `[min, max]`.
    pub const fn closed(min: f64, max: f64) -> Self {
        Bounds {
            min,
            max,
            max_excluded: false,
        }
    }

    /// `[min, max)`: for angles, where `max` is `min` again.
    pub const fn half_open(min: f64, max: f64) -> Self {
        Bounds {
            min,
            max,
            max_excluded: true,
        }
    }

    /// Every finite value from `min` up.
    pub const fn at_least(min: f64) -> Self {
        Self::closed(min, f64::MAX)
    }

    /// Whether `v` is valid (false for NaN and infinities).
    pub fn contains(&self, v: f64) -> bool {
        let below_max = if self.max_excluded {
            v < self.max
        } else {
            v <= self.max
        };
        v >= self.min && below_max
    }
}

impl fmt::Display for Bounds {
    /// The notation of the `.proto` comments: `[-90, 90]`, `[0, 360)`,
    /// `finite, >= 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.max == f64::MAX && !self.max_excluded {
            return write!(f, "finite, >= {}", self.min);
        }
        let close = if self.max_excluded { ')' } else { ']' };
        write!(f, "[{}, {}{close}", self.min, self.max)
    }
}

/// How a [`Rule`] reaches its field, what is valid there, and what happens
/// to an invalid value.
pub enum Check<M> {
    /// An optional number, left out when invalid.
    Number(fn(&mut M) -> &mut Option<f64>, Bounds),
    /// An optional unsigned integer, left out when invalid.
    Count(fn(&mut M) -> &mut Option<u32>, Bounds),
    /// An optional signed integer, left out when invalid.
    Signed(fn(&mut M) -> &mut Option<i32>, Bounds),
    /// A value the message cannot go without (proto3 has no "absent" for
    /// it, a 0 would be a real 0): when invalid the message is dropped.
    Required(fn(&M) -> f64, Bounds),
    /// A repeated number: invalid entries are dropped.
    Each(fn(&mut M) -> &mut Vec<f64>, Bounds),
    /// An optional `Timestamp`, left out outside protobuf's range
    /// (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z).
    Time(fn(&mut M) -> &mut Option<prost_types::Timestamp>),
    /// An optional `Duration` that cannot be negative, left out outside 0
    /// to protobuf's largest (315 576 000 000 s).
    Elapsed(fn(&mut M) -> &mut Option<prost_types::Duration>),
    /// An enum field; a number the enum does not define becomes 0
    /// (UNSPECIFIED). The second function tells defined numbers.
    Enum(fn(&mut M) -> &mut i32, fn(i32) -> bool),
    /// Text of at most this many bytes, cleared when longer.
    Text(fn(&mut M) -> &mut String, usize),
    /// Every value is valid (counters, bit flags, identifiers): listed so
    /// that the table names every field.
    Any,
}

/// One row of the contract: a field and its [`Check`].
pub struct Rule<M> {
    /// The field's name in `proto/telemetry.proto`.
    pub field: &'static str,
    /// Where the field is and what is valid there.
    pub check: Check<M>,
}

impl<M> Rule<M> {
    /// The valid values as `proto/telemetry.proto` states them after
    /// `Valid: `.
    pub fn valid(&self) -> String {
        match &self.check {
            // An integer is finite anyway.
            Check::Count(_, b) | Check::Signed(_, b) if b.max == f64::MAX => {
                format!(">= {}", b.min)
            }
            Check::Number(_, b)
            | Check::Count(_, b)
            | Check::Signed(_, b)
            | Check::Required(_, b)
            | Check::Each(_, b) => b.to_string(),
            Check::Time(_) => "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z".to_owned(),
            Check::Elapsed(_) => "0 to 315576000000 s".to_owned(),
            Check::Enum(..) => "a value the enum defines".to_owned(),
            Check::Text(_, max) => format!("at most {max} bytes"),
            Check::Any => "any".to_owned(),
        }
    }
}

/// What [`enforce`] left of a reading.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Enforced {
    /// The reading to publish; `None` when it had to be dropped.
    pub reading: Option<Reading>,
    /// Invalid values found and removed (the dropped reading's included).
    pub invalid: u32,
}

/// Applies the value contract to one reading: removes every invalid value
/// (see the module documentation) and counts them. Whatever the input, the
/// reading it returns holds only values inside their documented range.
pub fn enforce(reading: Reading) -> Enforced {
    let (reading, tally) = match reading {
        Reading::Gps(mut fix) => {
            let mut t = apply(rules::GPS_FIX, &mut fix);
            t.add(retain(&mut fix.sky, rules::SATELLITE_INFO));
            t.drop |= t.invalid > 0 && fix_is_empty(&fix);
            (Reading::Gps(fix), t)
        }
        Reading::Battery(mut b) => {
            let mut t = apply(rules::BATTERY_STATE, &mut b);
            t.drop |= t.invalid > 0 && battery_is_empty(&b);
            (Reading::Battery(b), t)
        }
        Reading::Tracking(mut u) => {
            let mut t = apply(rules::TRACKING_UPDATE, &mut u);
            t.add(retain(&mut u.objects, rules::TRACKED_OBJECT));
            (Reading::Tracking(u), t)
        }
        Reading::Vehicle(mut v) => {
            let t = apply(rules::VEHICLE_STATUS, &mut v);
            (Reading::Vehicle(v), t)
        }
    };
    Enforced {
        reading: (!tally.drop).then_some(reading),
        invalid: tally.invalid,
    }
}

/// Invalid values found in one message, and whether it must be dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    invalid: u32,
    drop: bool,
}

impl Tally {
    fn count(&mut self) {
        self.invalid = self.invalid.saturating_add(1);
    }

    /// Adds the invalid values of nested messages.
    fn add(&mut self, invalid: u32) {
        self.invalid = self.invalid.saturating_add(invalid);
    }
}

/// Applies every row of `rules` to `msg`.
fn apply<M>(rules: &[Rule<M>], msg: &mut M) -> Tally {
    let mut t = Tally::default();
    for rule in rules {
        let valid = match &rule.check {
            Check::Number(get, b) => keep_if(get(msg), |v| b.contains(*v)),
            Check::Count(get, b) => keep_if(get(msg), |v| b.contains(f64::from(*v))),
            Check::Signed(get, b) => keep_if(get(msg), |v| b.contains(f64::from(*v))),
            Check::Time(get) => keep_if(get(msg), timestamp_is_valid),
            Check::Elapsed(get) => keep_if(get(msg), |d| {
                duration_is_valid(d) && d.seconds >= 0 && d.nanos >= 0
            }),
            Check::Required(get, b) => {
                let ok = b.contains(get(msg));
                t.drop |= !ok;
                ok
            }
            Check::Each(get, b) => {
                let list = get(msg);
                let before = list.len();
                list.retain(|v| b.contains(*v));
                t.add(u32::try_from(before.saturating_sub(list.len())).unwrap_or(u32::MAX));
                true
            }
            Check::Enum(get, defined) => {
                let v = get(msg);
                let ok = defined(*v);
                if !ok {
                    *v = 0;
                }
                ok
            }
            Check::Text(get, max) => {
                let s = get(msg);
                let ok = s.len() <= *max;
                if !ok {
                    s.clear();
                }
                ok
            }
            Check::Any => true,
        };
        if !valid {
            t.count();
        }
    }
    t
}

/// Leaves `slot` empty unless its value passes `ok`; false if it emptied it.
fn keep_if<T>(slot: &mut Option<T>, ok: impl FnOnce(&T) -> bool) -> bool {
    match slot {
        Some(v) if !ok(v) => {
            *slot = None;
            false
        }
        _ => true,
    }
}

/// Applies `rules` to every entry of `list`, dropping the entries that must
/// go; returns the invalid values found.
fn retain<M>(list: &mut Vec<M>, rules: &[Rule<M>]) -> u32 {
    let mut invalid = 0u32;
    list.retain_mut(|m| {
        let t = apply(rules, m);
        invalid = invalid.saturating_add(t.invalid);
        !t.drop
    });
    invalid
}

/// A fix with nothing but its metadata (talker, closing sentence) left.
fn fix_is_empty(fix: &GpsFix) -> bool {
    let bare = GpsFix {
        talker: String::new(),
        cycle_end: String::new(),
        ..fix.clone()
    };
    bare == GpsFix::default()
}

/// A battery state with nothing but its identity (id, source) left.
fn battery_is_empty(b: &BatteryState) -> bool {
    let bare = BatteryState {
        battery_id: 0,
        source: 0,
        ..b.clone()
    };
    bare == BatteryState::default()
}
