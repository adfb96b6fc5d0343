//! The typed output of every sensor decoder, and the trait through which the
//! daemon drives any protocol with one generic sensor task.

use std::time::Duration;

use bytes::BytesMut;
use dronetel_proto::v1::{BatteryState, GpsFix, TrackingUpdate, VehicleStatus};
use tokio_util::codec::Decoder;

use crate::Stats;

/// One complete reading from a sensor, ready to become a frame body.
// A fix is the largest variant (its many optional values); readings are
// moved a few times each, and boxing it would allocate once per fix.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A navigation solution (one receiver cycle).
    Gps(GpsFix),
    /// The state of one battery (flight controller).
    Battery(BatteryState),
    /// The objects of one tracker frame.
    Tracking(TrackingUpdate),
    /// The vehicle's heartbeat (flight controller link health).
    Vehicle(VehicleStatus),
}

impl Reading {
    /// The fix, if this is a GPS reading (for callers that only want fixes).
    pub fn into_gps(self) -> Option<GpsFix> {
        match self {
            Reading::Gps(f) => Some(f),
            _ => None,
        }
    }
}

/// A sans-I/O protocol decoder the daemon's sensor task can drive.
///
/// It follows the tokio-util [`Decoder`] contract: `Ok(None)` means "need more
/// bytes". Bad input is counted in [`Stats`] and skipped, never returned as an
/// error; `Err` is reserved for the transport (`std::io::Error`).
pub trait SensorDecoder: Decoder<Item = Reading, Error = std::io::Error> + Send + 'static {
    /// Counters since the decoder was created.
    fn stats(&self) -> Stats;

    /// How long the line may stay silent before [`SensorDecoder::flush_idle`]
    /// should be called; `None` if the protocol needs no idle flush.
    fn idle_gap(&self) -> Option<Duration> {
        None
    }

    /// Called when no byte arrived for [`SensorDecoder::idle_gap`]: returns a
    /// reading held back waiting for more input (e.g. a GPS epoch whose
    /// closing sentence is not known yet).
    fn flush_idle(&mut self) -> Option<Reading> {
        None
    }

    /// Whether [`SensorDecoder::flush_idle`] could return something now (a
    /// reading is held back). The sensor task arms its idle timer only
    /// then, so a line whose cycles close by themselves costs no extra
    /// wake-up per cycle. The default (always true) keeps the timer armed.
    fn holds_pending(&self) -> bool {
        true
    }

    /// Bytes the decoder wants written to the device (e.g. MAVLink
    /// message-rate requests once the autopilot has been heard); `None` for
    /// read-only protocols. The sensor task calls this after every decode
    /// and after opening the device.
    fn take_output(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// Outside evidence of today's date (see
    /// [`crate::nmea::TimeEvidence`]); `None` withdraws it. Decoders of
    /// protocols whose dates can be GPS week rollovers (NMEA, u-blox) use
    /// it; the default ignores it.
    fn set_time_evidence(&mut self, _evidence: Option<crate::nmea::TimeEvidence>) {}

    /// Whether [`SensorDecoder::set_time_evidence`] is of any use to this
    /// decoder (the sensor task asks for evidence only then).
    fn uses_time_evidence(&self) -> bool {
        false
    }

    /// Called when the device was (re)opened: the decoder forgets link state
    /// that belongs to the previous connection (e.g. requests already sent).
    fn on_open(&mut self) {}

    /// Decodes everything complete in `buf` into `out`; a convenience over
    /// repeated [`Decoder::decode`] calls.
    fn decode_all(&mut self, buf: &mut BytesMut, out: &mut Vec<Reading>) {
        while let Ok(Some(r)) = self.decode(buf) {
            out.push(r);
        }
    }
}
