//! The typed output of every sensor decoder, and the trait through which the
//! daemon drives any protocol with one generic sensor task.

use std::time::Duration;

use bytes::BytesMut;
use dronetel_proto::v1::GpsFix;
use tokio_util::codec::Decoder;

use crate::Stats;

/// One complete reading from a sensor, ready to become a frame body.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A navigation solution (one receiver cycle).
    Gps(GpsFix),
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

    /// Decodes everything complete in `buf` into `out`; a convenience over
    /// repeated [`Decoder::decode`] calls.
    fn decode_all(&mut self, buf: &mut BytesMut, out: &mut Vec<Reading>) {
        while let Ok(Some(r)) = self.decode(buf) {
            out.push(r);
        }
    }
}
