//! Python packages a test needs (MAVProxy and pymavlink as independent
//! MAVLink peers), installed with pip into a private virtual environment
//! under the build's temporary directory when missing, once per process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// A virtual environment in `root` holding `packages` (pip names), made
/// and filled if missing; returns its `bin/` directory. Tests of one
/// binary run in parallel: one installs, the others wait here. Panics when
/// Python or pip cannot provide them.
pub fn venv_with(root: &Path, name: &str, packages: &[&str], check: &str) -> PathBuf {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let venv = root.join(name);
    let bin = venv.join("bin");
    let ready = || {
        Command::new(bin.join("python"))
            .args(["-c", check])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return bin;
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        made,
        "python3 -m venv {} failed (is python3-venv installed?)",
        venv.display()
    );
    let installed = Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed && ready(),
        "pip install {packages:?} into {} failed",
        venv.display()
    );
    bin
}
