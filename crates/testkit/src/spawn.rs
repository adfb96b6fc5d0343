//! The real binary as systemd runs it: a chosen environment (and none of
//! the test runner's service variables), signals, and its exit.

use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::DEADLINE;

/// The binary `bin` (the daemon under test) running `config`, logging to
/// `log`, with `env` added.
pub fn spawn_daemon(bin: &str, config: &Path, log: &Path, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(bin);
    cmd.args(["--allow-root", "run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Sends `sig` to the child.
pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, sig).unwrap();
}

/// Waits for the child to exit; panics after [`DEADLINE`].
pub async fn exit_status(child: &mut Child) -> std::process::ExitStatus {
    tokio::time::timeout(DEADLINE, child.wait())
        .await
        .expect("daemon did not exit")
        .unwrap()
}
