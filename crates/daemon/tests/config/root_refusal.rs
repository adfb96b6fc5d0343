//! Secure defaults: `dronetel run` refuses to start as root (exit 77, one
//! line naming `--allow-root` and the dialout group) unless `--allow-root`
//! is given. CI runs as root, so this checks the refusal there; run as
//! another user it checks that nothing is refused.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn run_refuses_root_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let run = |allow: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dronetel"));
        if allow {
            cmd.arg("--allow-root");
        }
        let out = cmd
            .args(["run", "--config"])
            .arg(&missing)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    // With --allow-root the run gets as far as the (missing) configuration.
    let (code, stderr) = run(true);
    assert_eq!(code, Some(78), "{stderr}");
    let (code, stderr) = run(false);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(code, Some(77), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("refusing to run as root") && stderr.contains("--allow-root"),
            "{stderr}"
        );
        assert!(stderr.contains("dialout"), "{stderr}");
    } else {
        assert_eq!(code, Some(78), "{stderr}");
    }
    // The tools do not care: check-config reports the missing file.
    let out = Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["check-config", "--config"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
}
