//! What the daemon process holds (open file descriptors, resident memory,
//! live tasks): a leak shows there, not in the frames.

use std::time::{Duration, Instant};

use crate::harness::Harness;
use crate::metrics::metric;

/// The daemon's process id.
pub fn pid(h: &Harness) -> u32 {
    h.daemon.id().expect("daemon running")
}

/// Open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Resident set size of process `pid`, bytes.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

/// Open fds and live tasks of the daemon once both are back to at most
/// `fds0` and `tasks0 + 2` (a connection or task that is just closing
/// settles within moments; a leak never does, and the deadline returns
/// what it is then for the caller's assertion).
pub async fn settled_fds_and_tasks(pid: u32, port: u16, fds0: usize, tasks0: f64) -> (usize, f64) {
    let t0 = Instant::now();
    loop {
        let (fds, tasks) = (
            open_fds(pid),
            metric(port, "dronetel_runtime_alive_tasks").await,
        );
        if (fds <= fds0 && tasks <= tasks0 + 2.0) || t0.elapsed() > Duration::from_secs(5) {
            return (fds, tasks);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
