//! `protocol = "ublox"` end to end: firmware-sim's GPS speaking UBX
//! (`--gps-protocol ubx`) → the `dronetel` binary → a stream client,
//! compared with the simulator's truth; and `configure = true` against the
//! simulated receiver answering ACK-ACK (an NMEA receiver turned to UBX).
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use dronetel_proto::v1::frame::Body;
use dronetel_testkit::harness::{Harness, Kind, Setup};
use dronetel_testkit::{wait_until, DEADLINE};
use firmware_sim::GpsProtocol;

use crate::{millis, DRONETEL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ublox_protocol_reads_the_simulated_ubx_receiver() {
    let h = Harness::start(
        DRONETEL,
        "ublox",
        Setup {
            sensors: &[Kind::Gps],
            gps_protocol: GpsProtocol::Ubx,
            gps_decoder: "ublox",
            flight_offset: Duration::from_secs(60),
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    let (mut matched, mut worst_deg, mut worst_alt) = (0, 0f64, 0f64);
    let t0 = Instant::now();
    while matched < 20 {
        assert!(t0.elapsed() < DEADLINE, "only {matched} fixes matched");
        let f = client.next().await.expect("stream open");
        let Some(Body::Gps(g)) = f.body else { continue };
        if g.latitude_deg.is_none() {
            continue;
        }
        assert_eq!(g.cycle_end, "NAV-EOE");
        assert!(g.velocity_north_mps.is_some() && g.horizontal_error_m.is_some());
        let ms = millis(g.time.as_ref().unwrap());
        let t = h
            .gps_truth_at(ms)
            .await
            .unwrap_or_else(|| panic!("no truth at {ms}"));
        worst_deg = worst_deg
            .max((g.latitude_deg.unwrap() - t.latitude_deg.unwrap()).abs())
            .max((g.longitude_deg.unwrap() - t.longitude_deg.unwrap()).abs());
        worst_alt = worst_alt.max((g.altitude_msl_m.unwrap() - t.altitude_msl_m.unwrap()).abs());
        assert_eq!(g.satellites_used, t.satellites_used);
        matched += 1;
    }
    assert!(worst_deg <= 1e-7, "{worst_deg}");
    assert!(worst_alt <= 1e-3, "{worst_alt}");
    // Read-only by default: nothing was written to the receiver.
    assert_eq!(h.sim.gps().stats().bytes_received, 0);
    eprintln!(
        "ublox over --gps-protocol ubx: {matched} fixes equal the truth (lat/lon within {worst_deg:e} deg, altitude within {worst_alt:e} m)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_enables_ubx_on_the_receiver_and_logs_the_acknowledgement() {
    let h = Harness::start(
        DRONETEL,
        "ublox-configure",
        Setup {
            sensors: &[Kind::Gps],
            gps_protocol: GpsProtocol::Nmea,
            gps_decoder: "ublox",
            gps_options: "configure = true",
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    // The simulated receiver sends UBX once a request enabled NAV-PVT.
    client
        .until(
            "a fix from UBX",
            |f| matches!(&f.body, Some(Body::Gps(g)) if g.cycle_end == "NAV-EOE"),
        )
        .await;
    wait_until("the set-up outcome logged", || {
        h.log_text().contains("u-blox receiver configured")
    })
    .await;
    let log = h.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("u-blox receiver configured"))
        .unwrap_or_default();
    // The four CFG-MSG are answered before the CFG-VALSET: either style
    // acknowledged in full is a success (crates/wire/UBX.md).
    assert!(line.contains("cfg_msg_acks=4"), "{line}");
    let log = h.log_text();
    assert_eq!(
        log.matches("u-blox receiver").count(),
        1,
        "one event for the outcome:\n{log}"
    );
    eprintln!("{line}");
}
