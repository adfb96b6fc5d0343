//! What a process costs, from `/proc`: CPU time (utime + stime of
//! `/proc/PID/stat`, threads that ended included), on-CPU nanoseconds of the
//! live threads (`/proc/PID/task/*/schedstat`, finer than clock ticks),
//! context switches of its threads (voluntary + involuntary: its wake-ups)
//! peak resident memory (`VmHWM`) and the private part of the resident
//! memory now (`RssAnon`: heap, stacks; without the executable's pages,
//! which grow with the binary and are shared and reclaimable).

use std::io;
use std::time::Duration;

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// utime + stime (clock-tick resolution).
    pub cpu: Duration,
    /// Sum of the live threads' on-CPU time (nanosecond resolution).
    pub sched: Duration,
    /// Voluntary + involuntary context switches over the live threads.
    pub switches: u64,
    /// Of those, the voluntary ones (a thread slept and was woken: its own
    /// wake-ups; involuntary ones are preemptions by other processes).
    pub voluntary: u64,
    /// Peak resident set size, KiB.
    pub hwm_kib: u64,
    /// Private anonymous resident memory at this reading, KiB.
    pub anon_kib: u64,
}

impl Usage {
    /// Counters spent since `earlier` (the peak RSS is this reading's).
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            sched: self.sched.saturating_sub(earlier.sched),
            switches: self.switches.saturating_sub(earlier.switches),
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            hwm_kib: self.hwm_kib,
            anon_kib: self.anon_kib,
        }
    }

    /// Counters of two stretches together (the later memory readings).
    pub fn plus(&self, later: &Usage) -> Usage {
        Usage {
            cpu: self.cpu + later.cpu,
            sched: self.sched + later.sched,
            switches: self.switches + later.switches,
            voluntary: self.voluntary + later.voluntary,
            hwm_kib: later.hwm_kib,
            anon_kib: later.anon_kib,
        }
    }
}

/// Reads the counters of process `pid`.
pub fn usage(pid: u32) -> io::Result<Usage> {
    let base = format!("/proc/{pid}");
    let stat = std::fs::read_to_string(format!("{base}/stat"))?;
    let cpu = cpu_of_stat(&stat, clock_ticks())
        .ok_or_else(|| io::Error::other(format!("unexpected {base}/stat: {stat}")))?;
    let status = std::fs::read_to_string(format!("{base}/status"))?;
    let hwm_kib = status_field(&status, "VmHWM:").unwrap_or(0);
    let anon_kib = status_field(&status, "RssAnon:").unwrap_or(0);
    let mut sched = Duration::ZERO;
    let mut switches = 0;
    let mut voluntary = 0;
    for task in std::fs::read_dir(format!("{base}/task"))? {
        let dir = task?.path();
        // A thread may end between the listing and the reads.
        if let Ok(s) = std::fs::read_to_string(dir.join("status")) {
            let v = status_field(&s, "voluntary_ctxt_switches:").unwrap_or(0);
            voluntary += v;
            switches += v + status_field(&s, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        }
        if let Ok(s) = std::fs::read_to_string(dir.join("schedstat")) {
            let ns = s.split_whitespace().next().and_then(|v| v.parse().ok());
            sched += Duration::from_nanos(ns.unwrap_or(0));
        }
    }
    Ok(Usage {
        cpu,
        sched,
        switches,
        voluntary,
        hwm_kib,
        anon_kib,
    })
}

/// Clock ticks per second (`getconf CLK_TCK`, asked once), 100 when unknown.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line; the command
/// name in parentheses may itself hold spaces and parentheses.
fn cpu_of_stat(stat: &str, ticks_per_s: u64) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": state is field 3, so utime (14) is the 12th from here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(
        Duration::from_secs(ticks / ticks_per_s)
            + Duration::from_nanos((ticks % ticks_per_s) * 1_000_000_000 / ticks_per_s),
    )
}

/// The number after `key` in a `/proc/PID/status` text.
pub(crate) fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
