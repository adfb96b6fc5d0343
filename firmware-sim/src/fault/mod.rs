//! Fault injection on a simulated device, controlled at runtime through
//! [`DeviceHandle`](crate::DeviceHandle): line noise (garbage bytes, bit flips, dropped bytes),
//! truncated and spliced messages, another protocol's messages on the port,
//! bursts at a multiple of the rate, time jumps and a GPS week rollover, and
//! a long random-byte stream. Every injection is counted in [`FaultStats`]
//! so tests can compare the daemon's counters with what was injected.
//!
//! Faults hit whole messages: a message hit by a fault is *touched*, and a
//! cycle with a touched message is not published as truth (its truth is not
//! what the wire carried). Byte faults stay inside a message's body and keep
//! its framing marks (NMEA `$` and `\r\n`, the MAVLink magic byte, the
//! tracker's `0x00` delimiter), so a fault damages the message it hits;
//! inserted bytes (garbage, foreign messages, noise) go in front of a
//! message and count that message as touched.

mod apply;

use std::sync::Mutex;
use std::time::Duration;

use crate::rng::SplitMix64;

pub(crate) use apply::{apply, Foreign, Framing};

/// 1024 GPS weeks: how far back a receiver with the week-rollover bug dates
/// its fixes.
pub const GPS_WEEK_ROLLOVER: Duration = Duration::from_secs(1024 * 7 * 86_400);

/// Bytes of the random-byte stream written per device tick at most.
const NOISE_CHUNK: u64 = 16 * 1024;

/// Per-message probabilities of the continuous faults, each in `0..=1`
/// (their sum at most 1: a message gets at most one fault).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultRates {
    /// 1 to 16 random bytes inserted in front of the message.
    pub garbage: f64,
    /// One bit of one byte of the message's body flipped.
    pub bit_flip: f64,
    /// One byte of the message's body removed.
    pub drop_byte: f64,
    /// The message's body cut short (its end mark kept).
    pub truncate: f64,
    /// The message's tail and the next message's head removed, so the two
    /// run together as one (both touched; the next message may be the
    /// first of the next cycle).
    pub splice: f64,
    /// A message of another protocol inserted in front of the message
    /// (MAVLink on the GPS port, NMEA on the others).
    pub foreign: f64,
}

impl FaultRates {
    /// Every kind of byte fault at `p / 5` each (garbage, bit flip, drop,
    /// truncate, splice): a message is hit with probability `p`.
    pub fn mixed(p: f64) -> FaultRates {
        let each = p / 5.0;
        FaultRates {
            garbage: each,
            bit_flip: each,
            drop_byte: each,
            truncate: each,
            splice: each,
            foreign: 0.0,
        }
    }

    fn total(&self) -> f64 {
        self.garbage + self.bit_flip + self.drop_byte + self.truncate + self.splice + self.foreign
    }

    pub(crate) fn is_valid(&self) -> bool {
        let all = [
            self.garbage,
            self.bit_flip,
            self.drop_byte,
            self.truncate,
            self.splice,
            self.foreign,
        ];
        all.iter().all(|p| (0.0..=1.0).contains(p)) && self.total() <= 1.0
    }
}

/// What a device injected since the simulator started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Garbage runs inserted.
    pub garbage: u64,
    /// Bits flipped.
    pub bit_flips: u64,
    /// Bytes removed by drop faults.
    pub dropped_bytes: u64,
    /// Messages truncated.
    pub truncated: u64,
    /// Pairs of messages spliced into one.
    pub spliced: u64,
    /// Foreign-protocol messages inserted.
    pub foreign: u64,
    /// Messages touched by a fault (a splice touches two).
    pub messages_touched: u64,
    /// Messages sent untouched.
    pub messages_clean: u64,
    /// Cycles with at least one touched message (no truth published).
    pub cycles_touched: u64,
    /// Bytes inserted, removed or altered by the message faults.
    pub bytes_corrupted: u64,
    /// Random-stream bytes written.
    pub noise_bytes: u64,
    /// Random-stream bytes the pty could not take (dropped).
    pub noise_dropped: u64,
    /// Time jumps applied (backwards jumps and week rollovers).
    pub time_jumps: u64,
    /// Cycles sent while the rate multiplier was above 1.
    pub burst_cycles: u64,
}

impl FaultStats {
    /// Message faults injected (each garbage run, flip, drop, truncation,
    /// splice and foreign message counts once).
    pub fn message_faults(&self) -> u64 {
        self.garbage
            + self.bit_flips
            + self.dropped_bytes
            + self.truncated
            + self.spliced
            + self.foreign
    }
}

/// The fault controls and counters of one device, shared between its
/// handle and its task.
#[derive(Debug)]
pub(crate) struct Faults {
    state: Mutex<State>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) rates: FaultRates,
    pub(crate) rng: SplitMix64,
    pub(crate) stats: FaultStats,
    /// How far behind the real clock the device's clock is.
    pub(crate) clock_behind: Duration,
    /// Cycles per period, 1 normally.
    pub(crate) rate_multiplier: u32,
    /// Random-stream bytes still to write.
    pub(crate) noise_pending: u64,
    /// The last message of the previous cycle lost its tail in a splice:
    /// the next message sent loses its head.
    pub(crate) splice_pending: bool,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Faults {
        Faults {
            state: Mutex::new(State {
                rates: FaultRates::default(),
                rng: SplitMix64::new(seed ^ 0xFA17_5EED),
                stats: FaultStats::default(),
                clock_behind: Duration::ZERO,
                rate_multiplier: 1,
                noise_pending: 0,
                splice_pending: false,
            }),
        }
    }

    /// Runs `f` on the state (a poisoned lock only means a panicking
    /// holder; the counters stay usable).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

impl State {
    /// The random-stream bytes to write before this tick's cycle.
    pub(crate) fn take_noise(&mut self) -> Vec<u8> {
        let n = self.noise_pending.min(NOISE_CHUNK);
        self.noise_pending -= n;
        (0..n).map(|_| self.rng.next_u64() as u8).collect()
    }
}
