//! Bounds of the gpsd sink: a watcher that stops reading next to one that
//! reads. The reader loses no `TPV`, the stalled one is disconnected past
//! its limit (a write blocked past `write_timeout`, or more lost reports
//! than `max_client_drops`) and its connection closed, and the GPS keeps
//! its rate.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use dronetel::sink::gpsd::GpsdSink;
use dronetel::sink::SinkStats;
use dronetel_proto::v1::frame::Body;
use dronetel_testkit::in_process::subscribed_tcp_client;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;

use crate::foxglove_common::flight;

const DEADLINE: Duration = Duration::from_secs(30);
const WATCH: &[u8] = b"?WATCH={\"enable\":true,\"json\":true};\n";

/// Milliseconds since 1970 of a gpsd time (`2026-12-02T06:30:00.100Z`).
fn millis(time: &str) -> i64 {
    let t = humantime::parse_rfc3339(time).unwrap();
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A watcher's socket; `rcvbuf` shrinks its receive buffer, so that a
/// client that stops reading fills up sooner.
async fn watcher(addr: SocketAddr, rcvbuf: Option<u32>) -> tokio::net::TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    if let Some(b) = rcvbuf {
        sock.set_recv_buffer_size(b).unwrap();
    }
    let mut s = tokio::time::timeout(DEADLINE, sock.connect(addr))
        .await
        .unwrap()
        .unwrap();
    s.write_all(WATCH).await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watcher_is_dropped_and_the_reader_loses_nothing() {
    let f = flight(
        "gpsd-slow",
        "[gpsd]\nlisten = \"127.0.0.1:0\"\nmax_client_drops = 50\nwrite_timeout = \"2s\"\n",
    )
    .await;
    let addr = f
        .daemon
        .sinks()
        .endpoint::<GpsdSink, _>(|e| match e {
            dronetel::sink::contract::Endpoint::Tcp(a) => Some(*a),
            _ => None,
        })
        .unwrap();
    let stats = f.daemon.sinks().get("gpsd").unwrap().stats().clone();
    let stop = tokio_util::sync::CancellationToken::new();

    // The stream's GPS fixes: the reference of what was published.
    let mut stream = subscribed_tcp_client(&f.daemon, None).await;
    let stream_task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut fixes = Vec::new();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    fr = stream.next() => {
                        let fr = fr.unwrap();
                        if let (true, Some(Body::Gps(g))) = (fr.sensor == "gps", &fr.body) {
                            if let Some(t) = &g.time {
                                let ms = t.seconds * 1000 + i64::from(t.nanos) / 1_000_000;
                                fixes.push((ms, Instant::now()));
                            }
                        }
                    }
                }
            }
            fixes
        })
    };

    // The reader: the time of every TPV of the GPS, from its first with one.
    let tpvs = Arc::new(AtomicU64::new(0));
    let reader_task = {
        let (stop, count) = (stop.clone(), tpvs.clone());
        let s = watcher(addr, None).await;
        tokio::spawn(async move {
            let mut lines = BufReader::new(s).lines();
            let mut times = Vec::new();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    l = tokio::time::timeout(DEADLINE, lines.next_line()) => {
                        let line = l.expect("no report within the deadline").unwrap().unwrap();
                        let v: Value = serde_json::from_str(&line).unwrap();
                        // The NMEA receiver's (the flight controller's
                        // GPS is a device of its own).
                        let gps = v["device"].as_str().is_some_and(|d| d.ends_with("/gps"));
                        if v["class"] == "TPV" && gps {
                            if let Some(t) = v["time"].as_str() {
                                times.push(millis(t));
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            times
        })
    };
    let t0 = Instant::now();
    while tpvs.load(Ordering::Relaxed) < 5 {
        assert!(t0.elapsed() < DEADLINE, "the reader gets no TPV");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The stalled watcher asks for every report, then never reads.
    let mut slow = watcher(addr, Some(4096)).await;
    let stalled_at = Instant::now();
    while SinkStats::get(&stats.slow_disconnects) < 1 {
        assert!(
            stalled_at.elapsed() < Duration::from_secs(60),
            "the stalled watcher is still connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dropped_after = stalled_at.elapsed();
    // Its connection is closed: what it had been sent, then the end.
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, slow.read_to_end(&mut sink)).await;
    assert!(
        closed.is_ok(),
        "the stalled watcher's connection stays open"
    );

    // The reader goes on after the drop.
    let before = tpvs.load(Ordering::Relaxed);
    let t0 = Instant::now();
    while tpvs.load(Ordering::Relaxed) < before + 20 {
        assert!(t0.elapsed() < DEADLINE, "the reader stopped receiving");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let times = reader_task.await.unwrap();
    let fixes = stream_task.await.unwrap();
    let report = f.daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);

    eprintln!(
        "stalled watcher dropped after {dropped_after:?} ({} bytes read after); \
         reader got {} TPVs; sink lost {} reports, slow disconnects {}",
        sink.len(),
        times.len(),
        SinkStats::get(&stats.dropped),
        SinkStats::get(&stats.slow_disconnects),
    );
    // Compared up to the last fix both saw: at the stop either may have
    // received one the other had not read yet.
    let first = times[0];
    let last = (*times.last().unwrap()).min(fixes.last().unwrap().0);
    let within = |ms: &i64| (first..=last).contains(ms);
    let got: Vec<i64> = times.iter().copied().filter(within).collect();
    let want: Vec<i64> = fixes.iter().map(|(ms, _)| *ms).filter(within).collect();
    assert!(got.len() >= 20, "{} TPVs compared", got.len());
    assert_eq!(got, want, "the reader lost or reordered TPVs");
    assert_eq!(SinkStats::get(&stats.slow_disconnects), 1);
    // The GPS kept its 10 Hz while the watcher stalled.
    let span = fixes.last().unwrap().1 - fixes[0].1;
    let rate = (fixes.len() - 1) as f64 / span.as_secs_f64();
    assert!(rate > 8.0, "gps at {rate:.1} Hz");
}
