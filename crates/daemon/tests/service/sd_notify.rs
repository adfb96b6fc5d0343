//! The real binary against a real notification socket, as systemd runs it
//! (`Type=notify`, `WatchdogSec=`): READY=1 only once the stream port
//! accepts, STATUS= follows sensors and clients, WATCHDOG=1 at about half
//! of WATCHDOG_USEC, STOPPING=1 on SIGTERM.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use dronetel_testkit::notify::NotifySocket;
use dronetel_testkit::ports::logged_addr;
use dronetel_testkit::sections::gps_section;
use dronetel_testkit::spawn::{exit_status, signal, spawn_daemon};
use dronetel_testkit::DEADLINE;
use firmware_sim::{SimOptions, Simulator};
use nix::sys::signal::Signal;

use crate::DRONETEL;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_watchdog_status_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::Builder::new()
        .prefix("dronetel-notify-")
        .tempdir()
        .unwrap();
    let sim = Simulator::start(SimOptions::new(dir.path().join("dev")))
        .await
        .unwrap();
    let config = format!(
        "[daemon]\nvehicle_id = \"notify\"\n{}\n[stream]\ntcp = \"127.0.0.1:0\"\n",
        gps_section("gps", &sim.gps().link())
    );
    let cfg = dir.path().join("dronetel.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.path().join("daemon.log");
    let mut notify = NotifySocket::bind(dir.path());
    let watchdog = Duration::from_millis(1000);
    let mut daemon = spawn_daemon(
        DRONETEL,
        &cfg,
        &log,
        &[
            ("NOTIFY_SOCKET", notify.path.display().to_string()),
            ("WATCHDOG_USEC", watchdog.as_micros().to_string()),
        ],
    );

    // READY=1: at that moment the stream port must accept.
    let ready = notify.until("READY=1", |n| n.has("READY=1")).await;
    // The port the kernel gave the listener (logged at bind, before READY).
    let port = logged_addr(&log, "stream listening on tcp").await.port();
    let conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(
        conn.is_ok(),
        "READY=1 sent before the stream port accepts: {conn:?}"
    );
    let status = ready.get("STATUS").unwrap_or_default().to_owned();
    assert!(status.contains("gps "), "first status {status:?}");
    assert!(
        notify.seen.iter().all(|n| !n.has("WATCHDOG=1")),
        "watchdog fed before READY: {:?}",
        notify.seen
    );

    // STATUS= follows the sensor and the client we just connected.
    notify
        .until("status with gps ONLINE and 1 client", |n| {
            n.get("STATUS")
                .is_some_and(|s| s.contains("gps ONLINE") && s.contains("1 client"))
        })
        .await;

    // WATCHDOG=1 at about half of WATCHDOG_USEC (generous bounds).
    let mut pings = Vec::new();
    while pings.len() < 6 {
        let n = notify.until("WATCHDOG=1", |n| n.has("WATCHDOG=1")).await;
        pings.push(n.at);
    }
    let gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = gaps.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    eprintln!("watchdog gaps {gaps:?}, median {median:?} (timeout {watchdog:?})");
    assert!(
        median >= watchdog * 3 / 10 && median <= watchdog * 8 / 10,
        "watchdog period {median:?} is not about half of {watchdog:?}"
    );
    assert!(
        gaps.iter().all(|g| *g < watchdog),
        "a gap reached the watchdog timeout: {gaps:?}"
    );

    // SIGTERM → STOPPING=1, then a clean exit.
    drop(conn);
    signal(&daemon, Signal::SIGTERM);
    notify.until("STOPPING=1", |n| n.has("STOPPING=1")).await;
    let status = exit_status(&mut daemon).await;
    assert!(
        status.success(),
        "exit {status}; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = DEADLINE;
}
