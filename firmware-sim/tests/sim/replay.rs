//! Replay writes a capture's bytes to the pty unchanged.
#![allow(clippy::unwrap_used)]

use crate::common::{Reader, Scratch};
use firmware_sim::{Pacing, Replay, ReplayOptions};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/gpsd/nmea"
);

async fn replay_matches(name: &str, pacing: Pacing) {
    let file = std::path::Path::new(CAPTURES).join(name);
    let expect = std::fs::read(&file).unwrap();
    let dir = Scratch::new(&format!("replay-{name}-{pacing:?}"));
    let opts = ReplayOptions {
        rate_hz: 500.0,
        pacing,
        ..ReplayOptions::default()
    };
    let mut replay = Replay::start(&file, &dir.0, opts).await.unwrap();
    let mut reader = Reader::open(&replay.link());
    let got = reader.bytes(expect.len()).await;
    assert!(
        got == expect,
        "{name}: replayed bytes differ from the capture"
    );
    let stats = replay.finished().await;
    assert_eq!(stats.bytes_written, expect.len() as u64);
    assert_eq!(stats.passes, 1);
    let link = replay.link();
    replay.stop().await;
    assert!(std::fs::symlink_metadata(link).is_err(), "link removed");
}

#[tokio::test]
async fn replay_by_cycle_is_byte_exact() {
    replay_matches("neo-m8n.log", Pacing::Cycle).await;
}

#[tokio::test]
async fn replay_by_line_is_byte_exact_with_junk_and_mixed_line_ends() {
    // Binary garbage, a truncated last line, LF and CRLF.
    replay_matches("ublox-8.log", Pacing::Line).await;
    replay_matches("bt451.log", Pacing::Line).await;
}

#[tokio::test]
async fn replay_repeats_until_stopped() {
    let file = std::path::Path::new(CAPTURES).join("april6_2019.log");
    let expect = std::fs::read(&file).unwrap();
    let dir = Scratch::new("replay-loop");
    let opts = ReplayOptions {
        rate_hz: 200.0,
        repeat: true,
        ..ReplayOptions::default()
    };
    let replay = Replay::start(&file, &dir.0, opts).await.unwrap();
    let mut reader = Reader::open(&replay.link());
    let got = reader.bytes(3 * expect.len()).await;
    assert_eq!(got, expect.repeat(3));
    let stats = replay.stop().await;
    assert!(stats.passes >= 3 && !stats.finished, "{stats:?}");
}
