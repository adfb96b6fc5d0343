//! The binary under SIGTERM: a connected client gets every frame up to a
//! clean end of stream, the process exits 0 within the grace period, and the
//! Unix socket file is gone. The sensor's device is missing, which is not
//! fatal: it reports DISCONNECTED health frames. Also: a listener that
//! cannot bind fails the start with one clear line.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, SensorState};
use dronetel_proto::FrameCodec;
use futures_util::StreamExt;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::net::UnixStream;
use tokio_util::codec::FramedRead;

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn sigterm_drains_the_client_removes_the_socket_and_exits_0() {
    let dir = tempfile::Builder::new()
        .prefix("dronetel-test")
        .tempdir()
        .unwrap();
    let sock = dir.path().join("stream.sock");
    let config = dir.path().join("dronetel.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[daemon]
vehicle_id = "test"
shutdown_grace = "3s"
health_interval = "50ms"

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = "{}"
baud = 115200

[stream]
unix = "{}"
"#,
            dir.path().join("no-such-device").display(),
            sock.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", "run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let started = Instant::now();
    let conn = loop {
        match UnixStream::connect(&sock).await {
            Ok(c) => break c,
            Err(_) if started.elapsed() < DEADLINE => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("daemon socket never appeared: {e}"),
        }
    };
    let mut frames = FramedRead::new(conn, FrameCodec::default());
    // Wait for a DISCONNECTED health frame: the daemon runs without device.
    let mut seqs = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        loop {
            let f = frames.next().await.expect("stream ended").unwrap();
            seqs.push(f.seq);
            if let Some(Body::Health(h)) = &f.body {
                if h.state == SensorState::Disconnected as i32 {
                    assert!(h.device.ends_with("no-such-device"), "{}", h.device);
                    assert!(h.last_error.contains("No such file"), "{}", h.last_error);
                    return;
                }
            }
        }
    })
    .await
    .expect("no DISCONNECTED health frame");

    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    let signalled = Instant::now();
    // Everything up to the end: contiguous seqs, then a clean end of stream.
    tokio::time::timeout(DEADLINE, async {
        while let Some(f) = frames.next().await {
            seqs.push(f.expect("stream broken, not closed").seq);
        }
    })
    .await
    .expect("stream not closed after SIGTERM");
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "frames lost or reordered");

    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(signalled.elapsed() < DEADLINE, "daemon still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exit_after = signalled.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(exit_after < Duration::from_secs(3), "took {exit_after:?}");
    assert!(!sock.exists(), "socket file left behind");
    // One log line per state change, not one per health frame.
    let disconnected_logs = stderr.matches("state=Disconnected").count();
    assert_eq!(disconnected_logs, 1, "{stderr}");
    assert!(stderr.contains("sensor=gps"), "{stderr}");
}

#[test]
fn a_listener_that_cannot_bind_fails_start_with_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::Builder::new()
        .prefix("dronetel-test")
        .tempdir()
        .unwrap();
    let config = dir.path().join("dronetel.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nvehicle_id = \"t\"\n[[sensor]]\nname = \"gps\"\nkind = \"gps\"\n\
             protocol = \"nmea\"\npath = \"/nonexistent\"\nbaud = 9600\n[stream]\ntcp = \"{addr}\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", "run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    // A port in use is a configuration error (issue 5): exit 78, the line
    // and key that configured the listener.
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert_eq!(last.matches("in use").count(), 1, "{stderr}");
    assert!(
        last.starts_with(&format!(
            "dronetel: configuration error: {}:10:7: key `stream.tcp`: stream tcp {addr}:",
            config.display()
        )),
        "{stderr}"
    );
}
