//! The simulated GPS over a real pty: valid cycles that carry the truth,
//! unplug/replug, stall.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use crate::common::{checked, until, Reader, Scratch, DEADLINE};
use firmware_sim::{SimOptions, Simulator, Truth};

fn opts(dir: &Scratch) -> SimOptions {
    SimOptions {
        gps_rate_hz: 10.0,
        seed: 7,
        ..SimOptions::new(&dir.0)
    }
}

fn fields(line: &str) -> Vec<&str> {
    checked(line).split(',').collect()
}

/// `ddmm.mmmm` / `dddmm.mmmm` plus hemisphere to signed degrees.
fn coordinate(value: &str, hemi: &str, deg_digits: usize) -> f64 {
    let deg: f64 = value[..deg_digits].parse().unwrap();
    let min: f64 = value[deg_digits..].parse().unwrap();
    let v = deg + min / 60.0;
    if hemi == "S" || hemi == "W" {
        -v
    } else {
        v
    }
}

/// `hhmmss.sss` of a truth's time.
fn hhmmss(truth: &Truth) -> String {
    let d = truth.time.duration_since(UNIX_EPOCH).unwrap();
    let s = d.as_secs() % 86_400;
    format!(
        "{:02}{:02}{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

/// Asserts that a cycle's sentences carry the truth's values.
fn assert_cycle_matches(cycle: &[String], truth: &Truth) {
    let tags: Vec<&str> = cycle.iter().map(|l| &l[3..6]).collect();
    assert_eq!(tags[..3], ["RMC", "VTG", "GGA"]);
    assert_eq!(tags[tags.len() - 3..], ["GLL", "GST", "ZDA"]);
    let f = &truth.fix;
    let gga = fields(&cycle[2]);
    assert_eq!(gga[1], hhmmss(truth));
    let lat = coordinate(gga[2], gga[3], 2);
    let lon = coordinate(gga[4], gga[5], 3);
    assert!(
        (lat - f.latitude_deg.unwrap()).abs() < 1e-9,
        "{lat} vs {f:?}"
    );
    assert!(
        (lon - f.longitude_deg.unwrap()).abs() < 1e-9,
        "{lon} vs {f:?}"
    );
    assert_eq!(gga[7].parse::<u32>().unwrap(), f.satellites_used.unwrap());
    assert_eq!(gga[8].parse::<f64>().unwrap(), f.hdop.unwrap());
    assert_eq!(gga[9].parse::<f64>().unwrap(), f.altitude_msl_m.unwrap());
    assert_eq!(
        gga[11].parse::<f64>().unwrap(),
        f.geoid_separation_m.unwrap()
    );

    let rmc = fields(&cycle[0]);
    assert_eq!(rmc[1], gga[1]);
    let knots: f64 = rmc[7].parse().unwrap();
    assert!((knots * 1852.0 / 3600.0 - f.speed_mps.unwrap()).abs() < 1e-9);
    assert_eq!(rmc[8].parse::<f64>().ok(), f.course_deg);

    let used: usize = cycle
        .iter()
        .filter(|l| &l[3..6] == "GSA")
        .map(|l| fields(l)[3..15].iter().filter(|p| !p.is_empty()).count())
        .sum();
    assert_eq!(used as u32, f.satellites_used.unwrap());
    let visible: u32 = cycle
        .iter()
        .filter(|l| &l[3..6] == "GSV")
        .map(|l| fields(l))
        .filter(|g| g[2] == "1")
        .map(|g| g[3].parse::<u32>().unwrap())
        .sum();
    assert_eq!(visible, f.satellites_visible.unwrap());
    assert_eq!(visible as usize, f.sky.len());

    let zda = fields(cycle.last().unwrap());
    assert_eq!(zda[1], gga[1]);
    assert_eq!(rmc[9], format!("{}{}{}", zda[2], zda[3], &zda[4][2..]));
}

#[tokio::test]
async fn cycles_on_the_pty_carry_the_truth() {
    let dir = Scratch::new("truth");
    let sim = Simulator::start(opts(&dir)).await.unwrap();
    let gps = sim.gps().clone();
    assert_eq!(gps.link(), dir.0.join("gps"));
    let mut truths = gps.subscribe_truth();
    let mut reader = Reader::open(&gps.link());
    let mut matched = 0;
    let mut pending: Vec<Truth> = Vec::new();
    while matched < 5 {
        let cycle = reader.cycle().await;
        for line in &cycle {
            checked(line);
        }
        let time = fields(&cycle[0])[1].to_string();
        // Cycles buffered before we subscribed have no truth: skip them.
        loop {
            if let Some(i) = pending.iter().position(|t| hhmmss(t) == time) {
                assert_cycle_matches(&cycle, &pending[i]);
                pending.drain(..=i);
                matched += 1;
                break;
            }
            match tokio::time::timeout(Duration::from_millis(500), truths.recv()).await {
                Ok(t) => pending.push(t.unwrap()),
                Err(_) => break,
            }
        }
    }
    let stats = gps.stats();
    assert!(stats.cycles_sent >= 5 && stats.plugged && !stats.stalled);
    assert!(stats.sentences_sent >= 5 * 18, "{stats:?}");
    sim.stop().await;
    assert!(
        std::fs::symlink_metadata(dir.0.join("gps")).is_err(),
        "link removed"
    );
}

#[tokio::test]
async fn unplug_ends_reads_and_replug_resumes_at_the_same_path() {
    let dir = Scratch::new("unplug");
    let sim = Simulator::start(opts(&dir)).await.unwrap();
    let gps = sim.gps().clone();
    let link = gps.link();
    let mut reader = Reader::open(&link);
    reader.cycle().await;

    gps.unplug().await;
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
    assert!(!gps.stats().plugged);
    // The pty is gone: the open reader's blocking read fails or hits EOF.
    if let Some(e) = reader.ended().await {
        assert_eq!(e.raw_os_error(), Some(nix::libc::EIO), "{e}");
    }

    gps.replug().await;
    assert!(gps.stats().plugged);
    assert_eq!(gps.stats().replugs, 1);
    let mut truths = gps.subscribe_truth();
    let mut reader = Reader::open(&link);
    let cycle = reader.cycle().await;
    for line in &cycle {
        checked(line);
    }
    let truth = tokio::time::timeout(DEADLINE, truths.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(truth.fix.latitude_deg.is_some());
    sim.stop().await;
}

#[tokio::test]
async fn stall_sends_nothing_until_resumed() {
    let dir = Scratch::new("stall");
    let sim = Simulator::start(opts(&dir)).await.unwrap();
    let gps = sim.gps().clone();
    let mut reader = Reader::open(&gps.link());
    reader.cycle().await;

    gps.set_stalled(true);
    assert!(gps.stats().stalled);
    // Once a stalled tick went by, nothing more is written: everything
    // sent reaches the reader and the sent counters freeze.
    let suppressed = gps.stats().cycles_suppressed;
    until("a stalled tick", || {
        gps.stats().cycles_suppressed > suppressed
    })
    .await;
    let frozen = gps.stats();
    let total = reader.total.clone();
    until("the reader to drain the pty", || {
        total.load(std::sync::atomic::Ordering::SeqCst) == frozen.bytes_sent
    })
    .await;
    until("five more stalled ticks", || {
        gps.stats().cycles_suppressed >= frozen.cycles_suppressed + 5
    })
    .await;
    let later = gps.stats();
    assert_eq!(later.bytes_sent, frozen.bytes_sent);
    assert_eq!(later.cycles_sent, frozen.cycles_sent);
    assert_eq!(
        total.load(std::sync::atomic::Ordering::SeqCst),
        frozen.bytes_sent
    );

    let mut truths = gps.subscribe_truth();
    gps.set_stalled(false);
    let truth = tokio::time::timeout(DEADLINE, truths.recv())
        .await
        .unwrap()
        .unwrap();
    let cycle = loop {
        let c = reader.cycle().await;
        if fields(&c[0])[1] == hhmmss(&truth) {
            break c;
        }
    };
    assert_cycle_matches(&cycle, &truth);
    sim.stop().await;
}

#[tokio::test]
async fn output_nobody_reads_is_dropped_and_counted_like_a_uart() {
    let dir = Scratch::new("overflow");
    let sim = Simulator::start(SimOptions {
        gps_rate_hz: 25.0,
        ..SimOptions::new(&dir.0)
    })
    .await
    .unwrap();
    let gps = sim.gps().clone();
    let mut truths = gps.subscribe_truth();
    // Nobody reads: the pty buffer fills, then cycles are dropped while the
    // model keeps its pace.
    until("dropped cycles", || gps.stats().cycles_dropped >= 3).await;
    let full = gps.stats();
    assert!(full.bytes_dropped > 0 && full.plugged, "{full:?}");
    // One truth per cycle written completely, none for dropped ones.
    let mut truth_count = 0;
    while truths.try_recv().is_ok() {
        truth_count += 1;
    }
    assert_eq!(truth_count, full.cycles_sent);
    // A reader drains the backlog and complete cycles flow again.
    let mut reader = Reader::open(&gps.link());
    until("cycles sent again", || {
        gps.stats().cycles_sent > full.cycles_sent + 3
    })
    .await;
    let cycle = reader.cycle().await;
    for line in &cycle {
        checked(line);
    }
    sim.stop().await;
}

#[tokio::test]
async fn start_rejects_bad_options() {
    assert!(Simulator::start(SimOptions::default()).await.is_err());
    let dir = Scratch::new("badrate");
    let bad = SimOptions {
        gps_rate_hz: 40.0,
        ..SimOptions::new(&dir.0)
    };
    assert!(Simulator::start(bad).await.is_err());
}
