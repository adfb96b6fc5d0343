//! Fault suite, point 7: SIGTERM in the middle of a 10x burst on every
//! sensor, with two stream clients and a recording. The daemon exits 0
//! within its shutdown grace; each client received every frame published
//! before the signal (no gap up to the end of its stream); the recording is
//! a finished MCAP file holding those frames too.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use dronetel_proto::v1::Frame;
use dronetel_testkit::frames::assert_contiguous;
use dronetel_testkit::harness::{assert_no_panic, Harness, Kind, Setup};
use dronetel_testkit::mcap_read::the_finished_recording;
use dronetel_testkit::metrics::{metric, metrics_section};
use dronetel_testkit::{temp_dir, DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use prost::Message;

use crate::DRONETEL;

const GRACE: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_exits_0_and_delivers_and_records_everything_published() {
    let _serial = crate::one_at_a_time().await;
    let rec = temp_dir("burst-rec");
    let mut h = Harness::start(
        DRONETEL,
        "burst-term",
        Setup {
            sensors: Kind::ALL,
            shutdown_grace: "3s",
            stream_options: "client_queue = 65536",
            extra_sections: format!(
                "{}\n[record]\ndir = \"{}\"\nmin_free_space = 0\n",
                metrics_section(0),
                rec.path().display()
            ),
            ..Setup::default()
        },
    )
    .await;
    let port = h.logged_addr("metrics listening").await.port();
    let mut readers = Vec::new();
    for _ in 0..2 {
        // Subscribed before the burst and the signal: a client still in
        // the listen backlog at SIGTERM would get nothing.
        let mut c = h.subscribed_client().await;
        readers.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            while let Some(f) = c.next().await {
                seqs.push(f.seq);
            }
            seqs
        }));
    }
    for &k in Kind::ALL {
        h.device(k).set_rate_multiplier(10);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let published = metric(port, "dronetel_bus_frames_published_total").await as u64;
    kill(
        Pid::from_raw(h.daemon.id().unwrap() as i32),
        Signal::SIGTERM,
    )
    .unwrap();
    let signalled = Instant::now();
    let status = tokio::time::timeout(DEADLINE, h.daemon.wait())
        .await
        .unwrap()
        .unwrap();
    let took = signalled.elapsed();
    assert!(status.success(), "exit {status}: {}", h.log_text());
    assert!(took <= GRACE, "shutdown took {took:?}");
    let mut summary = Vec::new();
    for (i, r) in readers.into_iter().enumerate() {
        let seqs = r.await.unwrap();
        assert_contiguous(&format!("client {i}"), &seqs);
        let last = *seqs.last().unwrap();
        assert!(
            last >= published,
            "client {i} ended at {last} < {published}"
        );
        summary.push(format!(
            "client {i}: {} frames up to seq {last}",
            seqs.len()
        ));
    }

    let (data, _) = the_finished_recording(rec.path());
    let mut recorded: Vec<u64> = mcap::MessageStream::new(&data)
        .unwrap()
        .map(|m| m.unwrap())
        // The frame channels; Foxglove's well-known ones are made from them.
        .filter(|m| m.channel.schema.as_ref().unwrap().name == "dronetel.v1.Frame")
        .map(|m| Frame::decode(&*m.data).unwrap().seq)
        .collect();
    recorded.sort();
    assert_contiguous("recording", &recorded);
    assert!(
        recorded.last().is_some_and(|&l| l >= published) && recorded[0] <= 1,
        "recording holds {:?}..{:?}, published before the signal: {published}",
        recorded.first(),
        recorded.last()
    );
    eprintln!(
        "SIGTERM after {published} frames (10x burst): exit 0 in {took:?}; {}; recording finished with {} frames ({} bytes)",
        summary.join(", "),
        recorded.len(),
        data.len()
    );
    assert_no_panic(&h);
}
