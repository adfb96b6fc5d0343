//! What tests look for in the frames a client receives: health states,
//! position fixes, and gaps in the sequence numbers.

use dronetel_proto::v1::{frame::Body, Frame, SensorHealth, SensorState};

use crate::client::Client;

/// The state of a health frame, if it is one.
pub fn health_state(f: &Frame) -> Option<SensorState> {
    match &f.body {
        Some(Body::Health(h)) => SensorState::try_from(h.state).ok(),
        _ => None,
    }
}

/// True for a GPS frame carrying a position.
pub fn is_position_fix(f: &Frame) -> bool {
    matches!(&f.body, Some(Body::Gps(g)) if g.latitude_deg.is_some())
}

/// Reads `client` until a health report of `sensor` satisfies `ok`.
pub async fn health_until(
    client: &mut Client,
    sensor: &str,
    what: &str,
    ok: impl Fn(&SensorHealth) -> bool,
) -> SensorHealth {
    let f = client
        .until(what, |f| {
            f.sensor == sensor && matches!(&f.body, Some(Body::Health(h)) if ok(h))
        })
        .await;
    match f.body {
        Some(Body::Health(h)) => h,
        _ => unreachable!(),
    }
}

/// Errors a decoder counted: bad checksums, bad framing, undecodable.
pub fn errors(h: &SensorHealth) -> u64 {
    h.checksum_errors + h.framing_errors + h.decode_errors
}

/// Asserts that frame sequence numbers follow each other without a gap.
pub fn assert_contiguous(what: &str, seqs: &[u64]) {
    let gap = seqs.windows(2).find(|w| w[1] != w[0] + 1);
    assert!(
        gap.is_none(),
        "{what}: gap {gap:?} in {} frames",
        seqs.len()
    );
}
