//! Fault suite, points 4 and 5: consumers that misbehave. A client that
//! never reads is dropped (log line and counter) while a fast client loses
//! nothing and the daemon's memory stays flat; 1000 rapid connect/disconnect
//! cycles leak no file descriptor or task and leave no gap at a reading
//! client.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use dronetel_proto::v1::frame::Body;
use dronetel_testkit::client::Client;
use dronetel_testkit::frames::assert_contiguous;
use dronetel_testkit::harness::{assert_no_panic, Harness, Kind, Setup};
use dronetel_testkit::metrics::{metric, metric_until, metrics_section};
use dronetel_testkit::process::{open_fds, pid, rss, settled_fds_and_tasks};
use dronetel_testkit::DEADLINE;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

use crate::DRONETEL;

const TASKS: &str = "dronetel_runtime_alive_tasks";
const CLIENTS: &str = "dronetel_clients{sink=\"stream\"}";
const SLOW: &str = "dronetel_slow_clients_disconnected_total{sink=\"stream\"}";

/// What a reading client saw until told to stop.
struct Seen {
    seqs: Vec<u64>,
    gps_ms: Vec<i64>,
}

/// Reads `client` on its own task until `stop` fires.
fn read_until_stopped(mut client: Client) -> (oneshot::Sender<()>, tokio::task::JoinHandle<Seen>) {
    let (tx, mut stop) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut seen = Seen {
            seqs: Vec::new(),
            gps_ms: Vec::new(),
        };
        loop {
            let f = tokio::select! {
                _ = &mut stop => return seen,
                f = client.next() => f.expect("stream open"),
            };
            seen.seqs.push(f.seq);
            if let (true, Some(Body::Gps(g))) = (f.sensor == "gps", &f.body) {
                if let (Some(t), Some(_)) = (&g.time, g.latitude_deg) {
                    seen.gps_ms
                        .push(t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
                }
            }
        }
    });
    (tx, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_the_fast_one_loses_nothing() {
    let _serial = crate::one_at_a_time().await;
    let h = Harness::start(
        DRONETEL,
        "slow-client",
        Setup {
            sensors: Kind::ALL,
            flight_offset: Duration::from_secs(60),
            stream_options: "client_queue = 4096\nmax_client_drops = 500\nwrite_timeout = \"1s\"",
            extra_sections: metrics_section(0),
            ..Setup::default()
        },
    )
    .await;
    let port = h.logged_addr("metrics listening").await.port();
    let mut fast = h.client().await;
    fast.until("a tracker reading", |f| Kind::Tracker.is_reading(f))
        .await;
    let slow = UnixStream::connect(&h.unix).await.unwrap();
    metric_until(port, CLIENTS, |v| v == 2.0).await;
    let rss0 = rss(pid(&h));
    let (stop, reader) = read_until_stopped(fast);
    for &k in Kind::ALL {
        h.device(k).set_rate_multiplier(10);
    }
    let t0 = Instant::now();
    metric_until(port, SLOW, |v| v >= 1.0).await;
    let dropped_after = t0.elapsed();
    // Keep the burst going a while after the slow client is gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss1 = rss(pid(&h));
    let clients = metric(port, CLIENTS).await;
    for &k in Kind::ALL {
        h.device(k).set_rate_multiplier(1);
    }
    stop.send(()).unwrap();
    let seen = reader.await.unwrap();
    drop(slow);

    let log = h.log_text();
    let line = log
        .lines()
        .find(|l| {
            l.contains("stream client stopped reading") || l.contains("stream client too slow")
        })
        .unwrap_or_else(|| panic!("no log line for the slow client:\n{log}"));
    assert_contiguous("fast client", &seen.seqs);
    assert_eq!(clients, 1.0, "the slow client is still connected");
    let growth = rss1 as i64 - rss0 as i64;
    eprintln!(
        "slow client dropped {dropped_after:?} into a 10x burst ({line}); fast client read {} frames without a gap; \
         daemon RSS {} KiB -> {} KiB ({:+} KiB)",
        seen.seqs.len(),
        rss0 / 1024,
        rss1 / 1024,
        growth / 1024
    );
    assert!(growth < 5 * 1024 * 1024, "RSS grew by {growth} bytes");
    assert!(
        seen.seqs.len() > 1000,
        "too few frames: {}",
        seen.seqs.len()
    );
    assert_no_panic(&h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connect_disconnect_cycles_leak_nothing_and_leave_no_gap() {
    let _serial = crate::one_at_a_time().await;
    let h = Harness::start(
        DRONETEL,
        "churn",
        Setup {
            sensors: Kind::ALL,
            max_clients: 2000,
            extra_sections: metrics_section(0),
            ..Setup::default()
        },
    )
    .await;
    let port = h.logged_addr("metrics listening").await.port();
    let mut reader = h.client().await;
    reader.until("a GPS fix", |f| Kind::Gps.is_reading(f)).await;
    metric_until(port, CLIENTS, |v| v == 1.0).await;
    let (fds0, tasks0) = (open_fds(pid(&h)), metric(port, TASKS).await);
    let (stop, task) = read_until_stopped(reader);
    let t0 = Instant::now();
    let mut readers = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let conn = UnixStream::connect(&h.unix).await.unwrap();
        // Every tenth one reads a frame first (the write path too; the
        // daemon waits 200 ms for a subscribe first, so they overlap).
        if i % 10 == 0 {
            readers.spawn(async move {
                let mut c = Client {
                    frames: tokio_util::codec::FramedRead::new(
                        conn,
                        dronetel_proto::FrameCodec::default(),
                    ),
                };
                c.next().await.expect("a frame");
            });
        }
    }
    while let Some(r) = readers.join_next().await {
        r.unwrap();
    }
    let churn = t0.elapsed();
    metric_until(port, CLIENTS, |v| v == 1.0).await;
    let settled = t0.elapsed();
    let (fds1, tasks1) = settled_fds_and_tasks(pid(&h), port, fds0, tasks0).await;
    // One more second of readings after the churn.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(()).unwrap();
    let seen = task.await.unwrap();
    assert_contiguous("reading client", &seen.seqs);
    // No sensor gap: every GPS cycle the simulator sent in the window
    // reached the reading client.
    let (first, last) = (seen.gps_ms[0], *seen.gps_ms.last().unwrap());
    // The simulator's truth is recorded on a task of its own, which may
    // trail the client by a few cycles: wait for the last cycle the client
    // got (the earlier ones are recorded before it).
    assert!(
        h.gps_truth_at(last).await.is_some(),
        "no simulator truth for the fix at {last} ms"
    );
    let mut want: Vec<i64> = h
        .truth
        .lock()
        .unwrap()
        .keys()
        .copied()
        .filter(|t| (first..=last).contains(t))
        .collect();
    want.sort();
    assert_eq!(seen.gps_ms, want, "GPS fixes at the reading client");
    eprintln!(
        "1000 connect/disconnect cycles in {churn:?} (clients back to 1 after {settled:?}); fds {fds0} -> {fds1}, \
         live tasks {tasks0} -> {tasks1}; reading client: {} frames, {} GPS fixes, no gap",
        seen.seqs.len(),
        seen.gps_ms.len()
    );
    assert!(fds1 <= fds0, "open fds {fds0} -> {fds1}");
    assert!(tasks1 <= tasks0 + 2.0, "live tasks {tasks0} -> {tasks1}");
    assert!(!h.log_text().contains("refused"), "a client was refused");
    assert!(t0.elapsed() < DEADLINE * 4);
    assert_no_panic(&h);
}
