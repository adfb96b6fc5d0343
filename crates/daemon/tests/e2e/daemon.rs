//! End-to-end acceptance tests: firmware-sim on real pseudo-terminals →
//! the `dronetel` binary → stream clients decoding protobuf frames.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, SensorState};
use dronetel_testkit::frames::{health_state, is_position_fix};
use dronetel_testkit::harness::{Harness, Setup, Stopped};
use dronetel_testkit::{temp_dir, DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;

use crate::{millis, DRONETEL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_equal_the_simulator_truth() {
    let h = Harness::start(DRONETEL, "truth", Setup::default()).await;
    let mut client = h.client().await;
    let mut compared = 0;
    let mut worst = 0f64;
    while compared < 30 {
        let f = client.until("a position fix", is_position_fix).await;
        let Some(Body::Gps(fix)) = f.body else {
            unreachable!()
        };
        let ms = millis(fix.time.as_ref().expect("fix has a time"));
        let Some(want) = h.gps_truth_at(ms).await else {
            panic!("fix at {ms} ms has no simulator truth")
        };
        let dlat = (fix.latitude_deg.unwrap() - want.latitude_deg.unwrap()).abs();
        let dlon = (fix.longitude_deg.unwrap() - want.longitude_deg.unwrap()).abs();
        worst = worst.max(dlat).max(dlon);
        assert!(
            dlat <= 1e-7 && dlon <= 1e-7,
            "fix {fix:?} vs truth {want:?}"
        );
        assert_eq!(fix.mode, want.mode, "fix mode");
        if let (Some(a), Some(b)) = (fix.altitude_msl_m, want.altitude_msl_m) {
            assert!((a - b).abs() <= 0.05, "altitude {a} vs {b}");
        }
        compared += 1;
    }
    eprintln!("compared {compared} fixes with the truth, worst lat/lon error {worst:e} deg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_is_reported_and_fixes_resume_within_a_second_of_replug() {
    let h = Harness::start(DRONETEL, "unplug", Setup::default()).await;
    let mut client = h.client().await;
    client.until("a first fix", is_position_fix).await;
    h.sim.gps().unplug().await;
    let f = client
        .until("DISCONNECTED", |f| {
            health_state(f) == Some(SensorState::Disconnected)
        })
        .await;
    let Some(Body::Health(health)) = f.body else {
        unreachable!()
    };
    assert!(!health.last_error.is_empty(), "DISCONNECTED names a cause");
    // Stay unplugged a while: the daemon keeps retrying without dying.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.sim.gps().replug().await;
    let back = Instant::now();
    client.until("a fix after replug", is_position_fix).await;
    let took = back.elapsed();
    eprintln!("fixes resumed {took:?} after the device returned");
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    let f = client
        .until("a health report", |f| health_state(f).is_some())
        .await;
    let Some(Body::Health(health)) = f.body else {
        unreachable!()
    };
    assert!(health.reopen_count >= 1, "reopen counted: {health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_goes_stale_then_online_again() {
    let h = Harness::start(DRONETEL, "stall", Setup::default()).await;
    let mut client = h.client().await;
    client
        .until("ONLINE", |f| health_state(f) == Some(SensorState::Online))
        .await;
    h.sim.gps().set_stalled(true);
    let stalled = Instant::now();
    client
        .until("STALE", |f| health_state(f) == Some(SensorState::Stale))
        .await;
    let took = stalled.elapsed();
    eprintln!("STALE {took:?} after the stall began (stale_after = 1 s)");
    assert!(took <= Duration::from_millis(1500), "took {took:?}");
    h.sim.gps().set_stalled(false);
    client
        .until("ONLINE again", |f| {
            health_state(f) == Some(SensorState::Online)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_every_client_and_removes_the_socket() {
    let mut h = Harness::start(DRONETEL, "sigterm", Setup::default()).await;
    let mut client = h.client().await;
    let fix = client.until("a fix", is_position_fix).await;
    let Stopped { status, took, seqs } = h.sigterm_and_drain(&mut client, fix.seq).await;
    eprintln!("exit {status} {took:?} after SIGTERM");
    assert!(status.success(), "exit status {status}: {}", h.log_text());
    assert!(took <= Duration::from_secs(3), "took {took:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "gap in {seqs:?}");
    // The daemon logs the last sequence number it published; the client has it.
    let log = h.log_text();
    let last = log
        .lines()
        .filter_map(|l| l.split("last_seq=").nth(1))
        .filter_map(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no last_seq in the log:\n{log}"));
    assert_eq!(seqs.last().copied(), Some(last), "client missed frames");
    assert!(!h.unix.exists(), "socket file left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_cap_are_refused_and_a_stuck_client_delays_nobody() {
    let h = Harness::start(
        DRONETEL,
        "clients",
        Setup {
            gps_rate_hz: 25.0,
            max_clients: 2,
            ..Setup::default()
        },
    )
    .await;
    let mut fast = h.client().await;
    // Connected, never reads.
    let _stuck = tokio::net::UnixStream::connect(&h.unix).await.unwrap();
    fast.until("a fix", is_position_fix).await;
    // The third client is over the cap: closed without a frame.
    let mut third = tokio::net::UnixStream::connect(&h.unix).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(DEADLINE, third.read(&mut buf))
        .await
        .expect("the refused client is closed promptly")
        .unwrap_or(0);
    assert_eq!(n, 0, "a client over max_clients got data");
    // For 4 s the fast client keeps getting every frame, promptly.
    let t0 = Instant::now();
    let mut last_seq = None;
    let mut worst = Duration::ZERO;
    let mut fixes = 0;
    while t0.elapsed() < Duration::from_secs(4) {
        let f = fast.next().await.expect("stream open");
        if let Some(prev) = last_seq {
            assert_eq!(f.seq, prev + 1, "the fast client lost a frame");
        }
        last_seq = Some(f.seq);
        if is_position_fix(&f) {
            fixes += 1;
            let at = f.received_at.unwrap();
            let sent = std::time::UNIX_EPOCH + Duration::new(at.seconds as u64, at.nanos as u32);
            let lag = std::time::SystemTime::now()
                .duration_since(sent)
                .unwrap_or_default();
            worst = worst.max(lag);
        }
    }
    eprintln!("fast client: {fixes} fixes in 4 s, worst publish-to-receipt {worst:?}");
    assert!(fixes >= 50, "only {fixes} fixes at 25 Hz in 4 s");
    assert!(worst < Duration::from_millis(500), "worst lag {worst:?}");
}

/// Reads delimited frames from `sock` with nothing but the `.proto` file:
/// compiled at run time by protox, decoded by prost-reflect, not by our
/// generated types. Returns the first GPS message that has a position.
async fn first_generic_position(sock: &mut tokio::net::TcpStream) -> prost_reflect::DynamicMessage {
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto");
    let fds = protox::compile(["telemetry.proto"], [proto_dir]).unwrap();
    let pool = prost_reflect::DescriptorPool::from_file_descriptor_set(fds).unwrap();
    let frame_desc = pool.get_message_by_name("dronetel.v1.Frame").unwrap();
    let mut buf = Vec::new();
    let t0 = Instant::now();
    loop {
        assert!(t0.elapsed() < DEADLINE, "no GPS position over TCP");
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(DEADLINE, sock.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "stream closed");
        buf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        loop {
            let mut rest = &buf[at..];
            let Ok(len) = prost::encoding::decode_varint(&mut rest) else {
                break;
            };
            let len = len as usize;
            if rest.len() < len {
                break;
            }
            let msg =
                prost_reflect::DynamicMessage::decode(frame_desc.clone(), &rest[..len]).unwrap();
            at = buf.len() - rest.len() + len;
            if msg.has_field_by_name("gps") {
                let gps = msg
                    .get_field_by_name("gps")
                    .unwrap()
                    .as_message()
                    .unwrap()
                    .clone();
                if gps.has_field_by_name("latitude_deg") {
                    return gps;
                }
            }
        }
        buf.drain(..at);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_shows_fixes_within_3s_and_a_generic_client_decodes_its_stream() {
    use tokio::io::AsyncBufReadExt;
    let dir = temp_dir("demo");
    // The stream on port 0: the demo names the port it got on stderr.
    let notes_dir = temp_dir("demo-notes");
    let notes = notes_dir.path().join("stderr");
    let started = Instant::now();
    let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["demo", "--stream", "127.0.0.1:0", "--link-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&notes).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(demo.stdout.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .expect("demo printed nothing")
            .unwrap()
            .expect("demo ended early");
        if line.contains("FIX 3D") {
            break;
        }
    }
    let took = started.elapsed();
    eprintln!("demo showed its first fix {took:?} after start");
    assert!(took <= Duration::from_secs(3), "took {took:?}");
    // Keep draining the view so the demo never blocks on stdout.
    let view = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    // Written before the view starts, so whole by the first fix.
    let text = std::fs::read_to_string(&notes).unwrap();
    let addr: std::net::SocketAddr = text
        .split("stream on tcp://")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no stream address in the demo's notes: {text}"));
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let gps = first_generic_position(&mut sock).await;
    let lat = gps
        .get_field_by_name("latitude_deg")
        .unwrap()
        .as_f64()
        .unwrap();
    let lon = gps
        .get_field_by_name("longitude_deg")
        .unwrap()
        .as_f64()
        .unwrap();
    // firmware-sim's default home is the PX4 SITL field near Zurich.
    assert!(
        (lat - 47.3977).abs() < 0.05 && (lon - 8.5456).abs() < 0.05,
        "{lat} {lon}"
    );

    kill(Pid::from_raw(demo.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(DEADLINE, demo.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "demo exit status {status}");
    view.await.unwrap();
    assert!(
        !dir.path().join("gps").exists(),
        "simulated device link left behind"
    );
}
