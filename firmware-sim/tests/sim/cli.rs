//! The `firmware-sim` binary: prints its links (and network addresses),
//! stops cleanly on a signal; `--gps-protocol ubx` and `--week-rollover`
//! as a decoder sees them.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Reader, Scratch, DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The simulator process, killed if a failing test drops it still running.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn(args: &[&str]) -> (Sim, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firmware-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (Sim(child), first)
}

/// Starts the simulator with its links in `dir` and `args` after that;
/// checks that the first line it prints names the GPS link, and returns
/// the process and the link's path.
fn spawn_gps(dir: &Scratch, args: &[&str]) -> (Sim, std::path::PathBuf) {
    let mut all = vec!["--link-dir", dir.0.to_str().unwrap()];
    all.extend_from_slice(args);
    let (child, first) = spawn(&all);
    let link = dir.0.join("gps");
    assert_eq!(first.trim(), format!("gps {}", link.display()));
    (child, link)
}

/// Sends `sig` and waits (bounded) for the process to exit successfully.
fn stop_with(mut sim: Sim, sig: Signal) {
    let child = &mut sim.0;
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit after {sig}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn simulator_binary_links_gps_and_exits_0_on_sigterm() {
    let dir = Scratch::new("cli-sim");
    let (child, link) = spawn_gps(&dir, &["--gps-rate", "20", "--seed", "3"]);
    let mut reader = Reader::open(&link);
    let cycle = reader.cycle().await;
    for line in &cycle {
        common::checked(line);
    }
    stop_with(child, Signal::SIGTERM);
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
}

#[tokio::test]
async fn replay_binary_loops_and_exits_0_on_sigint() {
    let dir = Scratch::new("cli-replay");
    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/gpsd/nmea/april6_2019.log"
    );
    let expect = std::fs::read(capture).unwrap();
    let (child, link) = spawn_gps(
        &dir,
        &["--replay", capture, "--rate", "100", "--lines", "--loop"],
    );
    let mut reader = Reader::open(&link);
    assert_eq!(reader.bytes(2 * expect.len()).await, expect.repeat(2));
    stop_with(child, Signal::SIGINT);
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
}

#[tokio::test]
async fn fault_flags_damage_every_sentence_and_burst_the_rate() {
    let dir = Scratch::new("cli-faults");
    let (child, link) = spawn_gps(
        &dir,
        &[
            "--gps-rate",
            "5",
            "--faults-on",
            "gps",
            "--truncate",
            "1",
            "--burst",
            "10",
        ],
    );
    let mut reader = Reader::open(&link);
    // Every sentence is cut short (at most one checksum digit left) but
    // keeps `$` and CRLF.
    let mut times = Vec::new();
    for _ in 0..200 {
        let line = reader.line().await;
        let cut = line.rsplit_once('*').is_none_or(|(_, sum)| sum.len() < 2);
        assert!(line.starts_with('$') && cut, "{line}");
        if let Some(rest) = line.strip_prefix("$GNRMC,") {
            times.push(rest.to_string());
        }
    }
    // 10x 5 Hz: 50 cycles a second, 200 lines hold several RMCs.
    assert!(times.len() >= 3, "{times:?}");
    stop_with(child, Signal::SIGTERM);
}

#[test]
fn fault_flags_reject_probabilities_out_of_range() {
    let dir = Scratch::new("cli-faults-bad");
    let out = Command::new(env!("CARGO_BIN_EXE_firmware-sim"))
        .args(["--link-dir", dir.0.to_str().unwrap(), "--garbage", "0.7"])
        .args(["--bit-flips", "0.7"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sum to at most 1"), "{err}");
}

/// `--fc-tcp-listen 127.0.0.1:0` prints the bound address as `fc-tcp
/// ADDR`, and a client connecting there gets the flight controller's
/// MAVLink (a heartbeat decodes); SIGTERM still exits 0.
#[test]
fn fc_tcp_listen_flag_serves_mavlink_at_the_printed_address() {
    use dronetel_wire::{mavlink::MavlinkDecoder, Reading, SensorDecoder};
    use std::io::Read as _;

    let dir = Scratch::new("cli-fc-tcp");
    let link_dir = dir.0.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_firmware-sim"))
        .args(["--link-dir", link_dir, "--fc-tcp-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let sim = Sim(child);
    let addr = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("fc-tcp ").map(str::to_owned))
        .expect("an fc-tcp line");
    let mut stream = std::net::TcpStream::connect(addr.trim()).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut decoder = MavlinkDecoder::default();
    let mut buf = bytes::BytesMut::new();
    let mut chunk = [0u8; 1024];
    let t0 = Instant::now();
    let mut readings = Vec::new();
    while !readings.iter().any(|r| matches!(r, Reading::Vehicle(_))) {
        assert!(t0.elapsed() < DEADLINE, "no heartbeat over TCP");
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the simulator closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        decoder.decode_all(&mut buf, &mut readings);
    }
    stop_with(sim, Signal::SIGTERM);
}

/// Decodes what the device at `reader` sends with `decoder` until `n`
/// fixes with a time came out.
async fn fixes<D: dronetel_wire::SensorDecoder>(
    reader: &mut Reader,
    mut decoder: D,
    n: usize,
) -> Vec<dronetel_proto::v1::GpsFix> {
    let mut buf = bytes::BytesMut::new();
    let mut out = Vec::new();
    while out.len() < n {
        buf.extend_from_slice(&reader.bytes(64).await);
        let mut readings = Vec::new();
        decoder.decode_all(&mut buf, &mut readings);
        out.extend(
            readings
                .into_iter()
                .filter_map(dronetel_wire::Reading::into_gps)
                .filter(|f| f.time.is_some()),
        );
    }
    out
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn gps_protocol_flag_makes_the_gps_speak_ubx() {
    let dir = Scratch::new("cli-ubx");
    let (child, link) = spawn_gps(&dir, &["--gps-rate", "10", "--gps-protocol", "ubx"]);
    let mut reader = Reader::open(&link);
    let got = fixes(&mut reader, dronetel_wire::ubx::UbxDecoder::default(), 5).await;
    for f in &got {
        assert_eq!(f.cycle_end, "NAV-EOE");
        assert!((f.time.unwrap().seconds - now_secs()).abs() < 5);
    }
    stop_with(child, Signal::SIGTERM);
    let bad = Command::new(env!("CARGO_BIN_EXE_firmware-sim"))
        .args([
            "--link-dir",
            dir.0.to_str().unwrap(),
            "--gps-protocol",
            "sirf",
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(bad.code(), Some(2), "an unknown protocol is a usage error");
}

/// `--week-rollover` dates everything 1024 weeks early: the NMEA decoder
/// reports that date as sent, and corrects it when a trusted clock vouches
/// for today (crates/wire/NMEA.md, "GPS week rollover").
#[tokio::test]
async fn week_rollover_flag_is_corrected_on_evidence_only() {
    use dronetel_wire::nmea::{NmeaDecoder, TimeEvidence, TimeSource};
    let dir = Scratch::new("cli-rollover");
    let (child, link) = spawn_gps(
        &dir,
        &["--gps-rate", "10", "--faults-on", "gps", "--week-rollover"],
    );
    let mut reader = Reader::open(&link);
    let rollover = 1024 * 7 * 86_400;
    let as_sent = fixes(&mut reader, NmeaDecoder::default(), 3).await;
    for f in &as_sent {
        let behind = now_secs() - f.time.unwrap().seconds;
        assert!((behind - rollover).abs() < 5, "as sent: {f:?}");
    }
    let mut trusting = NmeaDecoder::default();
    trusting.set_time_evidence(Some(TimeEvidence {
        unix_seconds: now_secs(),
        source: TimeSource::HostClock,
    }));
    for f in &fixes(&mut reader, trusting, 3).await {
        assert!(
            (now_secs() - f.time.unwrap().seconds).abs() < 5,
            "corrected: {f:?}"
        );
    }
    stop_with(child, Signal::SIGTERM);
}
