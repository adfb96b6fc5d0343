//! End to end over the network: the `dronetel` binary reading the
//! simulated flight controller as SITL serves it, from firmware-sim's UDP
//! output (`udp://`, rate requests going back over UDP) and its TCP
//! listener (`tcp://`, with the server going away and coming back).
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, BatterySource, SensorState};
use dronetel_testkit::frames::{health_state, health_until};
use dronetel_testkit::harness::{assert_no_panic, FcLink, Harness, Kind, Setup};
use dronetel_testkit::wait_until;

use crate::DRONETEL;

async fn start(tag: &str, fc_link: FcLink, fc_options: &'static str) -> Harness {
    Harness::start(
        DRONETEL,
        tag,
        Setup {
            sensors: &[Kind::Fc],
            fc_link,
            fc_options,
            ..Setup::default()
        },
    )
    .await
}

fn still_running(h: &mut Harness) {
    assert!(
        h.daemon.try_wait().unwrap().is_none(),
        "the daemon exited: {}",
        h.log_text()
    );
}

/// `udp://` fed by `--fc-udp`: battery, GPS and vehicle frames are
/// published, and with `request_message_rates` the simulator receives the
/// SET_MESSAGE_INTERVAL commands over UDP.
#[tokio::test]
async fn fc_over_udp_publishes_and_its_rate_requests_reach_the_simulator() {
    let mut h = start("net-udp", FcLink::Udp, "request_message_rates = true").await;
    let mut client = h.client().await;
    let fc = |f: &dronetel_proto::v1::Frame| f.sensor == "fc";
    client
        .until("a SYS_STATUS battery", |f| {
            fc(f)
                && matches!(&f.body, Some(Body::Battery(b)) if b.source == BatterySource::SysStatus as i32)
        })
        .await;
    client
        .until("a GPS fix", |f| {
            fc(f) && matches!(&f.body, Some(Body::Gps(g)) if g.latitude_deg.is_some())
        })
        .await;
    client
        .until("a vehicle status", |f| {
            fc(f) && matches!(&f.body, Some(Body::Vehicle(_)))
        })
        .await;
    let dev = h.device(Kind::Fc);
    wait_until("SET_MESSAGE_INTERVAL at the simulator", || {
        dev.stats().commands_received > 0
    })
    .await;
    still_running(&mut h);
    assert_no_panic(&h);
}

/// `tcp://` against `--fc-tcp-listen`: frames arrive; the server going
/// away (unplug) makes the sensor DISCONNECTED, and frames come back
/// within 1 s of its return; the daemon never exits.
#[tokio::test]
async fn fc_over_tcp_comes_back_within_a_second_of_the_server() {
    let mut h = start("net-tcp", FcLink::Tcp, "").await;
    let mut client = h.client().await;
    client
        .until("a first reading", |f| Kind::Fc.is_reading(f))
        .await;
    let state_of =
        |f: &dronetel_proto::v1::Frame| (f.sensor == "fc").then(|| health_state(f)).flatten();
    client
        .until("ONLINE", |f| state_of(f) == Some(SensorState::Online))
        .await;
    for round in 0..2 {
        h.device(Kind::Fc).unplug().await;
        let health = health_until(&mut client, "fc", "DISCONNECTED", |h| {
            h.state == SensorState::Disconnected as i32
        })
        .await;
        assert!(!health.last_error.is_empty(), "DISCONNECTED names a cause");
        // The daemon keeps retrying (connections refused) meanwhile.
        let down = Instant::now();
        client
            .until("a health report while the server is down", |f| {
                state_of(f).is_some() && down.elapsed() > Duration::from_millis(1500)
            })
            .await;
        still_running(&mut h);
        h.device(Kind::Fc).replug().await;
        let back = Instant::now();
        client
            .until("a reading after the server's return", |f| {
                Kind::Fc.is_reading(f)
            })
            .await;
        let took = back.elapsed();
        assert!(
            took <= Duration::from_secs(1),
            "round {round}: readings resumed after {took:?}"
        );
    }
    still_running(&mut h);
    assert_no_panic(&h);
}

/// `udp://` with no datagrams for `stale_after` (1 s): STALE, on the same
/// timer as a silent serial port, and ONLINE again when they resume.
#[tokio::test]
async fn fc_over_udp_goes_stale_when_datagrams_stop() {
    let mut h = start("net-udp-stale", FcLink::Udp, "").await;
    let mut client = h.client().await;
    client
        .until("ONLINE", |f| health_state(f) == Some(SensorState::Online))
        .await;
    h.device(Kind::Fc).set_stalled(true);
    let stalled = Instant::now();
    client
        .until("STALE", |f| health_state(f) == Some(SensorState::Stale))
        .await;
    let took = stalled.elapsed();
    eprintln!("STALE {took:?} after the datagrams stopped (stale_after = 1 s)");
    // Not before the silence could have lasted stale_after (the last
    // datagram came at most a few hundred ms before the stall). The upper
    // bound is generous: real I/O on a loaded machine.
    assert!(
        took >= Duration::from_millis(500),
        "STALE too early: {took:?}"
    );
    assert!(took <= Duration::from_secs(5), "STALE after {took:?}");
    h.device(Kind::Fc).set_stalled(false);
    client
        .until("ONLINE again", |f| {
            health_state(f) == Some(SensorState::Online)
        })
        .await;
    still_running(&mut h);
    assert_no_panic(&h);
}
