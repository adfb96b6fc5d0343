//! Fault suite: time faults on the wire. A GPS whose clock jumps back keeps
//! delivering fixes stamped with the time it sends; a receiver with the
//! week-rollover bug (dates 1024 weeks early, as `firmware-sim
//! --week-rollover`) is corrected by the decoder to the real date when the
//! host clock vouches for the date (`[daemon] host_clock = "trusted"` here:
//! a test machine's kernel may not be NTP-synchronized, which the default
//! `"ntp"` requires; see crates/wire/NMEA.md); the tracker's sensor clock
//! jumping back does not stop its frames.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronetel_proto::v1::frame::Body;
use dronetel_testkit::harness::{assert_no_panic, Harness, Kind, Setup};

use crate::DRONETEL;

fn fix_time(f: &dronetel_proto::v1::Frame) -> Option<SystemTime> {
    match &f.body {
        Some(Body::Gps(g)) if f.sensor == "gps" && g.latitude_deg.is_some() => g
            .time
            .as_ref()
            .map(|t| UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos as u32)),
        _ => None,
    }
}

/// Seconds between `t` and now (positive: in the past).
fn age(t: SystemTime) -> f64 {
    match SystemTime::now().duration_since(t) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_jumps_and_week_rollover_keep_data_flowing_with_the_right_dates() {
    let _serial = crate::one_at_a_time().await;
    let h = Harness::start(
        DRONETEL,
        "time",
        Setup {
            sensors: &[Kind::Gps, Kind::Tracker],
            daemon_options: "host_clock = \"trusted\"",
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    let f = client.until("a fix", |f| fix_time(f).is_some()).await;
    assert!(age(fix_time(&f).unwrap()).abs() < 5.0);

    // Backwards: fixes carry the device's time, 30 s behind.
    h.device(Kind::Gps).jump_time_back(Duration::from_secs(30));
    h.device(Kind::Tracker)
        .jump_time_back(Duration::from_secs(30));
    let f = client
        .until("a fix 30 s behind", |f| {
            fix_time(f).is_some_and(|t| (25.0..35.0).contains(&age(t)))
        })
        .await;
    let behind = age(fix_time(&f).unwrap());
    let mut tracking_after_jump = 0;
    client
        .until("tracker frames after the jump", |f| {
            tracking_after_jump += u32::from(Kind::Tracker.is_reading(f));
            tracking_after_jump >= 30
        })
        .await;

    // Week rollover: the device says 1024 weeks ago; the decoder restores
    // the real date on the host clock's evidence.
    h.device(Kind::Gps).reset_clock();
    h.device(Kind::Gps).gps_week_rollover();
    let mut fixes = 0;
    let mut worst: f64 = 0.0;
    client
        .until("ten fixes after the rollover", |f| {
            if let Some(t) = fix_time(f) {
                fixes += 1;
                if fixes > 2 {
                    worst = worst.max(age(t).abs());
                }
            }
            fixes >= 12
        })
        .await;
    assert!(
        worst < 5.0,
        "fixes after the week rollover are {worst} s away from now"
    );
    let injected = h.device(Kind::Gps).fault_stats().time_jumps;
    assert_eq!(injected, 2);
    eprintln!(
        "clock 30 s back: fixes {behind:.1} s behind, {tracking_after_jump} tracker frames after the jump; \
         week rollover (-1024 weeks): 10 fixes restored to within {worst:.2} s of now"
    );
    assert_no_panic(&h);
}
