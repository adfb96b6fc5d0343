//! Installing a Debian package a test needs when it is missing: the test
//! command installs what it needs itself (a broker, systemd-analyze).

use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Installs `package` with apt-get unless `present()` already holds, and
/// panics if it still does not hold afterwards. Tests of one binary run in
/// parallel: one installs, the others wait here rather than race for the
/// dpkg lock (so a package is installed once per process); another
/// process's lock is waited for too.
pub fn ensure(package: &str, present: impl Fn() -> bool) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if present() {
        return;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let install = ["install", "-y", "-q", "--no-install-recommends", package];
    if !apt(&install) {
        apt(&["update", "-q"]);
        apt(&install);
    }
    assert!(
        present(),
        "{package} is missing and `apt-get install {package}` failed"
    );
}
