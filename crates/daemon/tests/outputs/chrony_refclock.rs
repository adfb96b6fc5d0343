//! The `[chrony]` sink against a real chronyd (Debian's `chrony`,
//! installed when missing), started with `-x` so it never touches the
//! host clock: fed by the real binary reading the simulated GPS on a pty,
//! `chronyc -n sources` shows the SOCK refclock reached (three polls of
//! its reach register) with samples.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dronetel_testkit::harness::{Harness, Setup};
use dronetel_testkit::ports::free_port;
use dronetel_testkit::DEADLINE;
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chronyd_takes_gps_time_from_the_sock_refclock() {
    dronetel_testkit::apt::ensure("chrony", || Path::new("/usr/sbin/chronyd").exists());
    let dir = tempfile::Builder::new()
        .prefix("dronetel-chrony-")
        .tempdir()
        .unwrap();
    let sock = dir.path().join("dronetel.sock");
    // chronyc over UDP on loopback: a command socket in a temporary
    // directory is refused for its permissions.
    let cmdport = free_port().to_string();
    let conf = dir.path().join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "refclock SOCK {} refid GPS poll 0 filter 4\nbindcmdaddress 127.0.0.1\ncmdport {cmdport}\npidfile {}\n",
            sock.display(),
            dir.path().join("chronyd.pid").display(),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("chronyd.log")).unwrap();
    let _chronyd = Command::new("/usr/sbin/chronyd")
        .args(["-x", "-d", "-u", "root", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let h = Harness::start(
        crate::DRONETEL,
        "chrony",
        Setup {
            extra_sections: format!(
                "[chrony]\nsocket = \"{}\"\nsensor = \"gps\"\n",
                sock.display()
            ),
            ..Setup::default()
        },
    )
    .await;
    let t0 = Instant::now();
    let chronyd_log =
        || std::fs::read_to_string(dir.path().join("chronyd.log")).unwrap_or_default();
    loop {
        let out = Command::new("chronyc")
            .args(["-n", "-h", "127.0.0.1", "-p", &cmdport, "sources"])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // `#? GPS  0  0  377  1  +12ms[...] +/- ...`: mode, name, stratum,
        // poll, reach (octal), last sample age.
        let reached = text.lines().find(|l| l.contains("GPS")).and_then(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let reach = u32::from_str_radix(cols.get(4)?, 8).ok()?;
            Some((reach, cols.get(5).is_some_and(|c| *c != "-")))
        });
        if let Some((reach, sampled)) = reached {
            if reach.count_ones() >= 3 && sampled {
                eprintln!("{text}");
                break;
            }
        }
        assert!(
            t0.elapsed() < DEADLINE * 3,
            "refclock not reached; chronyc:\n{text}\n{}\nchronyd:\n{}\ndaemon:\n{}",
            String::from_utf8_lossy(&out.stderr),
            chronyd_log(),
            h.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
