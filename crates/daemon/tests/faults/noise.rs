//! Fault suite: a long random-byte stream on every port of the running
//! daemon (2 MB queued per port, written at 10x the cycle rate in front of
//! the cycles; what a full pty cannot take is dropped and counted, about
//! half of it on a loaded machine).
//! The daemon does not panic, counts the junk, keeps its memory flat, and
//! the readings of every sensor flow again right after the noise.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use dronetel_testkit::frames::{errors, health_until};
use dronetel_testkit::harness::{assert_no_panic, Harness, Kind, Setup};
use dronetel_testkit::process::{pid, rss};
use dronetel_testkit::DEADLINE;

use crate::DRONETEL;

const NOISE: u64 = 2_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_megabytes_of_random_bytes_per_port_leave_the_daemon_reading() {
    let _serial = crate::one_at_a_time().await;
    let h = Harness::start(
        DRONETEL,
        "noise",
        Setup {
            sensors: Kind::ALL,
            daemon_options: "health_interval = \"200ms\"",
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    let mut before = Vec::new();
    for &k in Kind::ALL {
        before.push(health_until(&mut client, k.name(), "messages", |x| x.messages_ok > 0).await);
    }
    let rss0 = rss(pid(&h));
    for &k in Kind::ALL {
        h.device(k).set_rate_multiplier(10);
        h.device(k).inject_noise(NOISE);
    }
    let t0 = Instant::now();
    let done = |k: Kind| {
        let f = h.device(k).fault_stats();
        f.noise_bytes + f.noise_dropped >= NOISE
    };
    while !Kind::ALL.iter().all(|&k| done(k)) {
        assert!(t0.elapsed() < DEADLINE, "noise not written");
        client.next().await.expect("stream open");
    }
    for &k in Kind::ALL {
        h.device(k).set_rate_multiplier(1);
    }
    let took = t0.elapsed();
    let mut lines = Vec::new();
    for (i, &k) in Kind::ALL.iter().enumerate() {
        let back = Instant::now();
        client
            .until("a reading after the noise", |f| k.is_reading(f))
            .await;
        let resumed = back.elapsed();
        let noise = h.device(k).fault_stats().noise_bytes;
        let after = health_until(&mut client, k.name(), "the noise read", |x| {
            x.bytes_read >= before[i].bytes_read + noise
        })
        .await;
        let counted = errors(&after) - errors(&before[i]);
        assert!(counted > 0, "{k:?}: no junk counted");
        assert!(
            resumed < Duration::from_secs(1),
            "{k:?}: readings after {resumed:?}"
        );
        lines.push(format!(
            "{k:?}: {noise} random bytes written ({} dropped by a full pty), {counted} errors counted, readings {resumed:?} after",
            h.device(k).fault_stats().noise_dropped
        ));
    }
    let rss1 = rss(pid(&h));
    let growth = rss1 as i64 - rss0 as i64;
    for l in &lines {
        eprintln!("{l}");
    }
    eprintln!(
        "noise took {took:?}; daemon RSS {} KiB -> {} KiB ({:+} KiB)",
        rss0 / 1024,
        rss1 / 1024,
        growth / 1024
    );
    assert!(growth < 5 * 1024 * 1024, "RSS grew by {growth} bytes");
    assert_no_panic(&h);
}
