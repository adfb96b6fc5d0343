//! The chrony sink (`[chrony]`): hands the fix times of one GPS source to
//! chronyd as `refclock SOCK` samples, so chrony can discipline the host
//! clock with GPS time (without PPS: to within the receiver's output
//! latency, see README "Replacing gpsd").
//!
//! Each fix with a time and a 2D or 3D mode becomes one `sock_sample`
//! datagram (chrony's `refclock_sock.c`): the host time of the fix
//! (`Frame.received_at`: when the cycle's last sentence was read), the
//! offset fix time − host time, pulse 0, leap 0 and the magic
//! `0x534f434b`. chronyd owns the socket: while it is not running sends
//! fail, are counted as errors and retried with the next fix; one log
//! line per change between failing and working.
//!
//! # Layout
//! - [`config`]: the `[chrony]` section.

pub mod config;

use std::path::PathBuf;

use dronetel_proto::v1::frame::Body;
use dronetel_proto::v1::{FixMode, Frame};
use tokio::net::UnixDatagram;

use crate::bus::Received;
use crate::config::{Checker, ConfigError};
use crate::selection::{Kind, Selection};
use crate::sink::contract::{Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::frames::SinkFrames;
use crate::sink::stats::SinkStats;
pub use config::{ChronyConfig, RawChrony};

/// `SOCK_MAGIC` of chrony's `refclock_sock.c`.
pub const SOCK_MAGIC: i32 = 0x534f_434b;

/// The chrony sink.
#[derive(Debug)]
pub struct ChronySink;

impl Sink for ChronySink {
    const NAME: &'static str = "chrony";
    const SELECTS: bool = false;
    type Raw = RawChrony;
    type Config = ChronyConfig;

    fn validate(
        raw: RawChrony,
        _: Selection,
        c: &Checker<'_>,
    ) -> Result<ChronyConfig, ConfigError> {
        ChronyConfig::validate(raw, c)
    }

    /// Opens an unbound datagram socket and starts the `chrony sink` task.
    async fn start(config: &ChronyConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        let socket = UnixDatagram::unbound().map_err(|e| SinkError::new::<Self>("socket", e))?;
        let selection = Selection {
            sensors: [config.sensor.clone()].into(),
            kinds: [Kind::Gps].into(),
            ..Selection::default()
        };
        let rx = cx.frames(&selection);
        tracing::info!(socket = %config.socket.display(), sensor = %config.sensor, "chrony sink started");
        cx.spawn("chrony sink", run(socket, config.socket.clone(), rx));
        Ok(cx.into_handle(Vec::new()))
    }
}

async fn run(socket: UnixDatagram, path: PathBuf, mut rx: SinkFrames) {
    let stats = rx.stats().clone();
    let mut failing = false;
    while let Received::Frame(p) = rx.recv().await {
        let Some(sample) = sample(p.frame()) else {
            continue;
        };
        match socket.send_to(&sample, &path).await {
            Ok(_) => {
                SinkStats::add(&stats.sent, 1);
                SinkStats::add(&stats.bytes, sample.len() as u64);
                if std::mem::replace(&mut failing, false) {
                    tracing::info!(socket = %path.display(), "chrony sink sending samples again");
                }
            }
            Err(e) => {
                SinkStats::add(&stats.errors, 1);
                if !std::mem::replace(&mut failing, true) {
                    tracing::info!(socket = %path.display(), error = %e, "chrony socket not reachable (is chronyd running with its refclock SOCK line?); retrying with each fix");
                }
            }
        }
    }
    tracing::info!(
        socket = %path.display(),
        sent = SinkStats::get(&stats.sent),
        errors = SinkStats::get(&stats.errors),
        "chrony sink stopped"
    );
}

/// chrony's `struct sock_sample` on this platform: `struct timeval`
/// (`time_t` and `suseconds_t`, each the width of a C `long`), `double
/// offset`, `int pulse`, `int leap`, `int _pad`, `int magic`, native byte
/// order.
#[cfg(target_pointer_width = "64")]
type CLong = i64;
#[cfg(not(target_pointer_width = "64"))]
type CLong = i32;

/// Length of one `sock_sample`.
pub const SAMPLE_LEN: usize = 2 * std::mem::size_of::<CLong>() + 8 + 4 * 4;

/// The `sock_sample` of `frame`: a fix with a time and a 2D/3D mode, its
/// host time `received_at`. `None` for anything else.
pub fn sample(frame: &Frame) -> Option<Vec<u8>> {
    let Some(Body::Gps(fix)) = &frame.body else {
        return None;
    };
    if !matches!(
        FixMode::try_from(fix.mode),
        Ok(FixMode::FixMode2d | FixMode::FixMode3d)
    ) {
        return None;
    }
    let (fix_time, host) = (fix.time.as_ref()?, frame.received_at.as_ref()?);
    let sec = CLong::try_from(host.seconds).ok()?;
    let usec = CLong::from(host.nanos / 1000);
    // Differences of whole seconds and of nanoseconds apart: exact, where
    // the sum of two ~1.7e9 s values in f64 would lose sub-microseconds.
    let offset = (fix_time.seconds - host.seconds) as f64
        + f64::from(fix_time.nanos - (host.nanos / 1000) * 1000) * 1e-9;
    let mut b = Vec::with_capacity(SAMPLE_LEN);
    b.extend_from_slice(&sec.to_ne_bytes());
    b.extend_from_slice(&usec.to_ne_bytes());
    b.extend_from_slice(&offset.to_ne_bytes());
    for v in [0i32, 0, 0, SOCK_MAGIC] {
        b.extend_from_slice(&v.to_ne_bytes());
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dronetel_proto::v1::GpsFix;
    use prost_types::Timestamp;

    fn frame(mode: FixMode, time: Option<Timestamp>) -> Frame {
        Frame {
            received_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 250_000_999,
            }),
            body: Some(Body::Gps(GpsFix {
                mode: mode as i32,
                time,
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn a_fix_becomes_chronys_sock_sample() {
        let f = frame(
            FixMode::FixMode3d,
            Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 100_000_000,
            }),
        );
        let b = sample(&f).unwrap();
        assert_eq!(b.len(), SAMPLE_LEN);
        assert_eq!(SAMPLE_LEN, 40, "x86_64 / aarch64 layout");
        assert_eq!(
            i64::from_ne_bytes(b[0..8].try_into().unwrap()),
            1_700_000_000
        );
        assert_eq!(i64::from_ne_bytes(b[8..16].try_into().unwrap()), 250_000);
        let offset = f64::from_ne_bytes(b[16..24].try_into().unwrap());
        assert!((offset + 0.15).abs() < 1e-12, "{offset}");
        assert_eq!(
            i32::from_ne_bytes(b[36..40].try_into().unwrap()),
            SOCK_MAGIC
        );
        assert_eq!(&b[24..36], &[0; 12], "pulse, leap, pad");
    }

    #[test]
    fn no_sample_without_a_fix_or_a_time() {
        let t = Some(Timestamp::default());
        assert!(sample(&frame(FixMode::NoFix, t)).is_none());
        assert!(sample(&frame(FixMode::FixMode3d, None)).is_none());
        assert!(sample(&frame(FixMode::FixMode2d, t)).is_some());
    }
}
