//! The shipped unit file passes `systemd-analyze verify` and scores an
//! exposure of at most 1.5 in `systemd-analyze security --offline=true`.
//! systemd-analyze (Debian package `systemd`) is installed with apt-get when
//! missing, as the MQTT tests install their broker.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Highest exposure the unit may score.
const MAX_EXPOSURE: f64 = 1.5;

fn unit_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/dronetel.service")
}

/// Runs systemd-analyze on `file`.
fn analyze(args: &[&str], file: &Path) -> Output {
    dronetel_testkit::apt::ensure("systemd", || {
        Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok()
    });
    Command::new("systemd-analyze")
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run systemd-analyze: {e}"))
}

#[test]
fn unit_verifies_clean() {
    // verify checks that ExecStart= exists: point it at the binary under
    // test instead of /usr/bin/dronetel, the rest of the unit unchanged.
    let text = std::fs::read_to_string(unit_path()).unwrap();
    assert!(
        text.contains("/usr/bin/dronetel run"),
        "unit runs the packaged binary"
    );
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dronetel.service");
    std::fs::write(
        &copy,
        text.replace("/usr/bin/dronetel", env!("CARGO_BIN_EXE_dronetel")),
    )
    .unwrap();
    let out = analyze(&["verify"], &copy);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stderr.trim().is_empty() && stdout.trim().is_empty(),
        "systemd-analyze verify: {}\n{stdout}{stderr}",
        out.status
    );
}

#[test]
fn unit_exposure_is_at_most_1_5() {
    let out = analyze(&["security", "--offline=true"], &unit_path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "systemd-analyze security: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for dronetel.service:"))
        .unwrap_or_else(|| panic!("no overall exposure in:\n{stdout}"));
    let score: f64 = line
        .rsplit(':')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score in {line:?}"));
    eprintln!("{}", line.trim());
    assert!(
        score <= MAX_EXPOSURE,
        "exposure {score} > {MAX_EXPOSURE}:\n{stdout}"
    );
}
