//! Fault suite, point 1: 100 unplug/replug cycles of each sensor kind. Each
//! return is detected and readings flow again within 1 s; the daemon holds
//! no more file descriptors and runs no more tasks afterwards than before.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use dronetel_proto::v1::SensorState;
use dronetel_testkit::client::Client;
use dronetel_testkit::frames::health_state;
use dronetel_testkit::harness::{assert_no_panic, Harness, Kind, Setup};
use dronetel_testkit::metrics::{metric, metrics_section};
use dronetel_testkit::process::{open_fds, pid, settled_fds_and_tasks};

use crate::DRONETEL;

const CYCLES: usize = 100;
const TASKS: &str = "dronetel_runtime_alive_tasks";

/// One unplug/replug: returns how long after the replug the first reading
/// arrived.
async fn cycle(h: &Harness, client: &mut Client, kind: Kind) -> Duration {
    h.device(kind).unplug().await;
    client
        .until("DISCONNECTED", |f| {
            f.sensor == kind.name() && health_state(f) == Some(SensorState::Disconnected)
        })
        .await;
    h.device(kind).replug().await;
    let back = Instant::now();
    client
        .until("a reading after replug", |f| kind.is_reading(f))
        .await;
    back.elapsed()
}

async fn replug_many(kind: Kind) -> String {
    let only: &'static [Kind] = match kind {
        Kind::Gps => &[Kind::Gps],
        Kind::Fc => &[Kind::Fc],
        Kind::Tracker => &[Kind::Tracker],
    };
    let h = Harness::start(
        DRONETEL,
        &format!("replug-{}", kind.name()),
        Setup {
            sensors: only,
            extra_sections: metrics_section(0),
            ..Setup::default()
        },
    )
    .await;
    let port = h.logged_addr("metrics listening").await.port();
    let mut client = h.client().await;
    client
        .until("a first reading", |f| kind.is_reading(f))
        .await;
    // One cycle first, so whatever a reopen creates once exists.
    cycle(&h, &mut client, kind).await;
    let (fds0, tasks0) = (open_fds(pid(&h)), metric(port, TASKS).await);
    let mut times = Vec::with_capacity(CYCLES);
    for i in 0..CYCLES {
        let took = cycle(&h, &mut client, kind).await;
        assert!(
            took <= Duration::from_secs(1),
            "{kind:?} cycle {i}: readings resumed after {took:?}"
        );
        times.push(took);
    }
    let (fds1, tasks1) = settled_fds_and_tasks(pid(&h), port, fds0, tasks0).await;
    assert!(fds1 <= fds0, "{kind:?}: open fds {fds0} -> {fds1}");
    // Tasks come and go (the scrape's own connection, a health tick): a
    // leak of one per cycle would be 100.
    assert!(
        tasks1 <= tasks0 + 2.0,
        "{kind:?}: live tasks {tasks0} -> {tasks1}"
    );
    assert_eq!(h.device(kind).stats().replugs, CYCLES as u64 + 1);
    assert_no_panic(&h);
    times.sort();
    format!(
        "{kind:?}: {CYCLES} replugs, readings back after median {:?}, max {:?}; fds {fds0} -> {fds1}, live tasks {tasks0} -> {tasks1}",
        times[CYCLES / 2],
        times[CYCLES - 1]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_replugs_per_sensor_kind_recover_within_a_second_without_leaks() {
    let _serial = crate::one_at_a_time().await;
    let results = futures_util::future::join_all(Kind::ALL.iter().map(|&k| replug_many(k))).await;
    for r in results {
        eprintln!("{r}");
    }
}
