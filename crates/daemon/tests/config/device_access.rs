//! Serial devices the daemon's user may not open: a configuration error
//! that names the group to join, not a sensor that retries forever.
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// A device the daemon's user may not open (not in its group) is a
/// configuration error naming the group to join. Root is not stopped by
/// permissions, so as root (CI) a copy of the binary runs as `nobody`
/// through util-linux's `setpriv`.
#[test]
fn a_device_the_user_may_not_open_names_the_dialout_group() {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::Permissions::from_mode;
    // Under /tmp (world-traversable) so that `nobody` reaches the files.
    let dir = tempfile::Builder::new()
        .prefix("dronetel-test")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), mode(0o755)).unwrap();
    let locked = dir.path().join("ttyS9");
    std::fs::write(&locked, "").unwrap();
    std::fs::set_permissions(&locked, mode(0o000)).unwrap();
    let f = dir.path().join("locked.toml");
    let text = format!(
        "[daemon]\nvehicle_id = \"t\"\n\n[[sensor]]\nname = \"gps\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"{}\"\nbaud = 9600\n",
        locked.display()
    );
    let line = 1 + text.lines().position(|l| l.starts_with("path =")).unwrap();
    std::fs::write(&f, &text).unwrap();
    std::fs::set_permissions(&f, mode(0o644)).unwrap();
    let mut cmd = if nix::unistd::geteuid().is_root() {
        let bin = dir.path().join("dronetel");
        std::fs::copy(env!("CARGO_BIN_EXE_dronetel"), &bin).unwrap();
        std::fs::set_permissions(&bin, mode(0o755)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_dronetel"))
    };
    let out = cmd.args(["run", "--config"]).arg(&f).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("{}:{line}:", f.display())) && last.contains("sensor[0].path"),
        "{stderr}"
    );
    assert!(last.contains("dialout"), "{stderr}");
}
