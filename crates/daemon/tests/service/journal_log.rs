//! Under systemd (JOURNAL_STREAM naming stderr) the binary logs without
//! timestamps and with `<N>` syslog priority prefixes; with JOURNAL_STREAM
//! naming another file it keeps its timestamped text format.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use dronetel_testkit::sections::gps_section;
use dronetel_testkit::spawn::{exit_status, signal, spawn_daemon};
use dronetel_testkit::wait_until;
use nix::sys::signal::Signal;

use crate::DRONETEL;

async fn run_and_log(dir: &Path, tag: &str, journal: impl FnOnce(&Path) -> String) -> String {
    let cfg = dir.join(format!("{tag}.toml"));
    let config = format!(
        "[daemon]\nvehicle_id = \"journal\"\n{}\n[stream]\ntcp = \"127.0.0.1:0\"\n",
        gps_section("gps", &dir.join("no-such-device"))
    );
    std::fs::write(&cfg, config).unwrap();
    let log = dir.join(format!("{tag}.log"));
    std::fs::File::create(&log).unwrap();
    let stream = journal(&log);
    let mut daemon = spawn_daemon(DRONETEL, &cfg, &log, &[("JOURNAL_STREAM", stream)]);
    wait_until("the DISCONNECTED warning", || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("sensor state changed")
    })
    .await;
    signal(&daemon, Signal::SIGTERM);
    assert!(exit_status(&mut daemon).await.success());
    std::fs::read_to_string(&log).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_stream_selects_priority_prefixed_lines_without_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    // spawn_daemon creates the log file anew: take dev:ino of that file.
    let text = run_and_log(dir.path(), "journal", |log| {
        let m = std::fs::metadata(log).unwrap();
        format!("{}:{}", m.dev(), m.ino())
    })
    .await;
    let warn = text
        .lines()
        .find(|l| l.contains("sensor state changed"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(warn.starts_with("<4> WARN "), "{warn}");
    let info = text
        .lines()
        .find(|l| l.contains("daemon starting"))
        .unwrap();
    assert!(info.starts_with("<6> INFO "), "{info}");

    let text = run_and_log(dir.path(), "other", |_| "1:2".into()).await;
    let line = text
        .lines()
        .find(|l| l.contains("daemon starting"))
        .unwrap();
    assert!(
        line.starts_with(|c: char| c.is_ascii_digit()) && !line.starts_with('<'),
        "not the timestamped format: {line}"
    );
}
