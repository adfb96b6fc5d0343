//! Sensor inputs over the network with peers no one here wrote: MAVProxy
//! (from PyPI, in a private venv) owns the simulated flight controller's
//! pty and forwards it over UDP or TCP, pymavlink plays a ground station on
//! the shared link; a TCP server replays a real receiver capture; and
//! hostile senders flood, send giant datagrams and endless lines.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, BatteryState, GpsFix, SensorHealth, SensorState};
use dronetel_testkit::frames::health_until;
use dronetel_testkit::harness::Harness;
use dronetel_testkit::ports::free_port;
use dronetel_testkit::process::{pid, rss};
use dronetel_testkit::python::venv_with;
use dronetel_testkit::DEADLINE;
use dronetel_wire::mavlink::common::{
    GpsFixType, MavAutopilot, MavMessage, MavType, GPS_RAW_INT_DATA, HEARTBEAT_DATA,
};
use dronetel_wire::mavlink::encode;
use dronetel_wire::nmea::NmeaDecoder;
use dronetel_wire::ubx::UbloxDecoder;
use dronetel_wire::{Reading, SensorDecoder};
use firmware_sim::FcTruth;
use mavlink::{MavHeader, MavlinkVersion};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use crate::DRONETEL;

/// The `bin/` of a venv with MAVProxy (and so pymavlink).
fn mavproxy_venv() -> PathBuf {
    venv_with(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "venv-mavproxy",
        &["mavproxy"],
        "import MAVProxy, pymavlink",
    )
}

/// MAVProxy owning `master` (the flight controller's pty), forwarding to
/// `out` (`udp:HOST:PORT`, `tcpin:HOST:PORT`); it writes its logs in `dir`.
fn mavproxy(bin: &Path, master: &Path, out: &str, dir: &Path) -> Child {
    Command::new(bin.join("mavproxy.py"))
        .arg(format!("--master={}", master.display()))
        .args([
            "--baudrate",
            "921600",
            "--out",
            out,
            "--daemon",
            "--non-interactive",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The flight controller's `[[sensor]]` on a network `path`.
fn fc_section(path: &str, extra: &str) -> String {
    format!(
        "[[sensor]]\nname = \"fc\"\nkind = \"flight_controller\"\nprotocol = \"mavlink\"\npath = \"{path}\"\nstale_after = \"1s\"\n{extra}\n"
    )
}

/// A daemon with only the flight controller, on `path`.
async fn fc_daemon(tag: &str, path: &str, extra: &str) -> Harness {
    Harness::with_sensor_sections(DRONETEL, tag, fc_section(path, extra)).await
}

/// Whether something listens on TCP `port` (from /proc: a probe connection
/// would be taken as MAVProxy's one client).
fn listening(port: u16) -> bool {
    let want = format!(":{port:04X} ");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| format!("{a} ").ends_with(&want))
                && l.split_whitespace().nth(3) == Some("0A")
        })
}

/// Sends, every `every` until dropped, the frames `messages(seq)` gives,
/// as system `system_id` (component 1), from a socket bound to `from`, to
/// `target`: a MAVLink peer on a UDP link.
fn mavlink_sender(
    from: &'static str,
    target: SocketAddr,
    system_id: u32,
    every: Duration,
    messages: impl Fn(u8) -> Vec<MavMessage> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let socket = tokio::net::UdpSocket::bind(from).await.unwrap();
        for seq in (0..=u8::MAX).cycle() {
            let mut out = Vec::new();
            let header = MavHeader {
                system_id,
                component_id: 1,
                sequence: seq,
            };
            for m in messages(seq) {
                encode::frame(MavlinkVersion::V2, header, &m, &mut out);
            }
            let _ = socket.send_to(&out, target).await;
            tokio::time::sleep(every).await;
        }
    })
}

/// A ground station's HEARTBEAT and a foreign GPS_RAW_INT (system 255) to
/// `target` every 100 ms: what a router forwards on a shared link.
fn ground_station(target: SocketAddr) -> tokio::task::JoinHandle<()> {
    mavlink_sender(
        "127.0.0.1:0",
        target,
        255,
        Duration::from_millis(100),
        |_| {
            vec![
                MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                    mavtype: MavType::MAV_TYPE_GCS,
                    autopilot: MavAutopilot::MAV_AUTOPILOT_INVALID,
                    ..HEARTBEAT_DATA::default()
                }),
                MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
                    lat: 100_000_000,
                    lon: 200_000_000,
                    fix_type: GpsFixType::GPS_FIX_TYPE_3D_FIX,
                    ..GPS_RAW_INT_DATA::default()
                }),
            ]
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mavproxy_over_udp_gives_the_autopilots_frames_and_counts_the_ground_station() {
    let venv = mavproxy_venv();
    let port = free_port();
    let h = fc_daemon("mavproxy-udp", &format!("udp://127.0.0.1:{port}"), "").await;
    let _proxy = mavproxy(
        &venv,
        &h.sim.fc().link(),
        &format!("udp:127.0.0.1:{port}"),
        h.dir.path(),
    );
    let gcs = ground_station(SocketAddr::from(([127, 0, 0, 1], port)));
    let mut client = h.client().await;
    let (mut batteries, mut fixes, mut vehicles) = (0, 0, 0);
    let mut next_battery = 0usize;
    let t0 = Instant::now();
    while batteries < 6 || fixes < 10 || vehicles < 2 {
        assert!(
            t0.elapsed() < 2 * DEADLINE,
            "{batteries} batteries, {fixes} fixes, {vehicles} statuses"
        );
        let f = client.next().await.expect("stream open");
        match (f.sensor.as_str(), f.body) {
            ("fc", Some(Body::Battery(b))) => {
                // The simulator's battery states, in order (its truth is
                // recorded on its own task, so it may lag the frame).
                let i = in_truth(&h, |t| {
                    let all: Vec<&BatteryState> = t.iter().flat_map(|t| &t.battery).collect();
                    all.iter().skip(next_battery).position(|t| **t == b)
                })
                .await
                .unwrap_or_else(|| panic!("battery {b:?} is not the simulator's"));
                next_battery += i + 1;
                batteries += 1;
            }
            ("fc", Some(Body::Gps(g))) => {
                assert_ne!(
                    g.latitude_deg,
                    Some(10.0),
                    "the ground station's position was published"
                );
                let found = in_truth(&h, |t| {
                    t.iter()
                        .flat_map(|t| &t.gps)
                        .any(|t| same_position(t, &g))
                        .then_some(())
                })
                .await;
                assert!(found.is_some(), "fix {g:?} is not the simulator's");
                fixes += 1;
            }
            ("fc", Some(Body::Vehicle(v))) => {
                assert_eq!(
                    v.system_id, 1,
                    "only the autopilot's heartbeat is a status: {v:?}"
                );
                vehicles += 1;
            }
            _ => {}
        }
    }
    let h1 = health_until(&mut client, "fc", "ground station counted", |h| {
        h.other_systems >= 10
    })
    .await;
    assert!(
        h1.device
            .starts_with(&format!("udp://127.0.0.1:{port} from 127.0.0.1:")),
        "{}",
        h1.device
    );
    gcs.abort();
    eprintln!(
        "via MAVProxy over UDP: {batteries} battery, {fixes} GPS, {vehicles} vehicle frames equal the simulator's; \
         {} messages of other systems counted",
        h1.other_systems
    );
}

/// What `find` finds in the flight controller's truth, within the
/// deadline (the simulator records a tick after writing it).
async fn in_truth<T>(h: &Harness, find: impl Fn(&[FcTruth]) -> Option<T>) -> Option<T> {
    let t0 = Instant::now();
    loop {
        if let Some(x) = find(&h.fc_truth.lock().unwrap()) {
            return Some(x);
        }
        if t0.elapsed() > DEADLINE {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Same position and altitude as the simulator sent (to the precision of
/// MAVLink's integers).
fn same_position(t: &GpsFix, g: &GpsFix) -> bool {
    let close = |a: Option<f64>, b: Option<f64>, tol: f64| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        (None, None) => true,
        _ => false,
    };
    t.cycle_end == g.cycle_end
        && close(t.latitude_deg, g.latitude_deg, 1e-7)
        && close(t.longitude_deg, g.longitude_deg, 1e-7)
        && close(t.altitude_msl_m, g.altitude_msl_m, 1e-3)
}

/// pymavlink as the autopilot on the far side of a UDP link: it sends its
/// HEARTBEAT to `port` and prints the message ids of the
/// SET_MESSAGE_INTERVAL commands it gets back.
const AUTOPILOT_PY: &str = r#"
import sys, time
from pymavlink import mavutil
m = mavutil.mavlink_connection("udpout:127.0.0.1:" + sys.argv[1], source_system=1, source_component=1)
seen = set()
t0 = time.time()
while time.time() - t0 < 20 and len(seen) < 4:
    m.mav.heartbeat_send(mavutil.mavlink.MAV_TYPE_QUADROTOR, mavutil.mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 0)
    msg = m.recv_match(type="COMMAND_LONG", blocking=True, timeout=0.5)
    if msg is not None and msg.command == mavutil.mavlink.MAV_CMD_SET_MESSAGE_INTERVAL:
        seen.add(int(msg.param1))
print(" ".join(str(i) for i in sorted(seen)))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_requests_go_back_over_udp_to_the_autopilot() {
    let venv = mavproxy_venv();
    let port = free_port();
    let _h = fc_daemon(
        "udp-rates",
        &format!("udp://127.0.0.1:{port}"),
        "request_message_rates = true",
    )
    .await;
    let out = Command::new(venv.join("python"))
        .args(["-c", AUTOPILOT_PY, &port.to_string()])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let ids = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // SYS_STATUS, GPS_RAW_INT, GLOBAL_POSITION_INT, BATTERY_STATUS.
    assert_eq!(
        ids, "1 24 33 147",
        "requests received by pymavlink: {out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mavproxy_over_tcp_restarted_is_read_again_within_a_second() {
    let venv = mavproxy_venv();
    let port = free_port();
    let h = fc_daemon("mavproxy-tcp", &format!("tcp://127.0.0.1:{port}"), "").await;
    let out = format!("tcpin:127.0.0.1:{port}");
    let mut proxy = mavproxy(&venv, &h.sim.fc().link(), &out, h.dir.path());
    let mut client = h.client().await;
    let reading = |f: &dronetel_proto::v1::Frame| {
        f.sensor == "fc" && matches!(f.body, Some(Body::Battery(_) | Body::Gps(_)))
    };
    client.until("a reading over TCP", reading).await;
    let mut worst = Duration::ZERO;
    for round in 0..2 {
        proxy.kill().await.unwrap();
        let down = health_until(&mut client, "fc", "DISCONNECTED", |h| {
            h.state == SensorState::Disconnected as i32
        })
        .await;
        assert!(!down.last_error.is_empty(), "{down:?}");
        proxy = mavproxy(&venv, &h.sim.fc().link(), &out, h.dir.path());
        let t0 = Instant::now();
        while !listening(port) {
            assert!(t0.elapsed() < 2 * DEADLINE, "MAVProxy never listened again");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let back = Instant::now();
        client.until("a reading after the restart", reading).await;
        let took = back.elapsed();
        assert!(
            took <= Duration::from_secs(1),
            "round {round}: readings {took:?} after MAVProxy listened"
        );
        worst = worst.max(took);
    }
    assert!(h.daemon.id().is_some(), "the daemon exited");
    eprintln!(
        "MAVProxy over TCP restarted twice: readings back at most {worst:?} after it listened"
    );
}

/// A daemon reading an NMEA receiver (`net`) that is a TCP server of this
/// test, and the server's side of the connection once the daemon is in.
async fn gps_over_tcp(tag: &str, protocol: &str) -> (Harness, tokio::net::TcpStream) {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let section = format!(
        "[[sensor]]\nname = \"net\"\nkind = \"gps\"\nprotocol = \"{protocol}\"\npath = \"tcp://{addr}\"\nstale_after = \"5s\"\n"
    );
    let h = Harness::with_sensor_sections(DRONETEL, tag, section).await;
    let (conn, _) = tokio::time::timeout(DEADLINE, server.accept())
        .await
        .unwrap()
        .unwrap();
    (h, conn)
}

/// The fixes the serial path gives for `bytes`: the same decoder, with the
/// value contract the sensor task applies.
fn serial_path_fixes<D: SensorDecoder>(mut d: D, bytes: &[u8]) -> Vec<GpsFix> {
    let mut buf = bytes::BytesMut::from(bytes);
    let mut out = Vec::new();
    d.decode_all(&mut buf, &mut out);
    out.extend(d.flush_idle());
    out.into_iter()
        .filter_map(|r| dronetel_wire::contract::enforce(r).reading)
        .filter_map(Reading::into_gps)
        .filter(|g| g.latitude_deg.is_some())
        .collect()
}

fn key(g: &GpsFix) -> (i64, i64, i64) {
    let t = g.time.unwrap_or_default();
    (
        t.seconds * 1000 + i64::from(t.nanos) / 1_000_000,
        (g.latitude_deg.unwrap() * 1e7).round() as i64,
        (g.longitude_deg.unwrap() * 1e7).round() as i64,
    )
}

/// A receiver `capture` (under `../shared/testdata/gpsd/`) served over TCP
/// to a sensor of `protocol`: the daemon's fixes equal what `decoder` makes
/// of the same bytes on the serial path. Returns how many.
async fn capture_over_tcp<D: SensorDecoder>(capture: &str, protocol: &str, decoder: D) -> usize {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/gpsd")
        .join(capture);
    let bytes = std::fs::read(&capture).unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    let want = serial_path_fixes(decoder, &bytes);
    assert!(want.len() >= 20, "{} fixes in the capture", want.len());
    let (h, mut conn) = gps_over_tcp(protocol, protocol).await;
    // Subscribed before the capture goes out: every fix it makes is seen.
    let mut client = h.subscribed_client().await;
    // A networked receiver: the whole capture, then the line stays open.
    conn.write_all(&bytes).await.unwrap();
    let mut got = HashMap::new();
    while got.len() < want.len() {
        let f = client
            .until("fix over TCP", |f| {
                f.sensor == "net"
                    && matches!(&f.body, Some(Body::Gps(g)) if g.latitude_deg.is_some())
            })
            .await;
        if let Some(Body::Gps(g)) = f.body {
            got.insert(key(&g), g);
        }
    }
    for w in &want {
        let g = got
            .get(&key(w))
            .unwrap_or_else(|| panic!("fix {w:?} missing over TCP"));
        assert_eq!(
            (g.altitude_msl_m, g.speed_mps, g.course_deg),
            (w.altitude_msl_m, w.speed_mps, w.course_deg)
        );
    }
    want.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nmea_over_tcp_gives_the_fixes_of_the_serial_path() {
    let n = capture_over_tcp("nmea/bu353s4.log", "nmea", NmeaDecoder::default()).await;
    eprintln!("{n} fixes of bu353s4.log over TCP equal the serial path's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ublox_receiver_over_tcp_gives_the_fixes_of_the_serial_path() {
    let n = capture_over_tcp("ubx/ublox-neo-m8l.log", "ublox", UbloxDecoder::default()).await;
    eprintln!(
        "{n} UBX fixes of ublox-neo-m8l.log over TCP (protocol ublox) equal the serial path's"
    );
}

/// CPU time (user + system) of process `pid`.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = after
        .split(' ')
        .skip(11)
        .take(2)
        .map(|f| f.parse().unwrap())
        .collect();
    Duration::from_millis((fields[0] + fields[1]) * 10)
}

/// The autopilot's HEARTBEAT and a GPS_RAW_INT from 127.0.0.2 to `target`
/// every 50 ms.
fn autopilot_from_127_0_0_2(target: SocketAddr) -> tokio::task::JoinHandle<()> {
    mavlink_sender("127.0.0.2:0", target, 1, Duration::from_millis(50), |seq| {
        vec![
            MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                ..HEARTBEAT_DATA::default()
            }),
            MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
                lat: 473_977_420,
                lon: 85_455_940,
                satellites_visible: seq % 20,
                fix_type: GpsFixType::GPS_FIX_TYPE_3D_FIX,
                ..GPS_RAW_INT_DATA::default()
            }),
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_floods_and_giant_datagrams_are_counted_and_bounded() {
    let port = free_port();
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let h = fc_daemon(
        "udp-hostile",
        &format!("udp://127.0.0.1:{port}"),
        "allow_from = [\"127.0.0.2\"]",
    )
    .await;
    let autopilot = autopilot_from_127_0_0_2(target);
    let mut client = h.client().await;
    let gps =
        |f: &dronetel_proto::v1::Frame| f.sensor == "fc" && matches!(f.body, Some(Body::Gps(_)));
    client.until("the allowed autopilot's fix", gps).await;
    let (cpu0, rss0) = (cpu(pid(&h)), rss(pid(&h)));

    // A flood of random datagrams from a refused sender (127.0.0.1).
    const FLOOD: u64 = 100_000;
    let flood = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut d = [0u8; 200];
        for _ in 0..FLOOD {
            for b in d.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let _ = s.send_to(&d, target);
        }
    });
    flood.join().unwrap();
    let refused = health_until(&mut client, "fc", "refused datagrams counted", |h| {
        h.rejected_datagrams > 0
    })
    .await;
    client.until("a fix after the flood", gps).await;
    let flood_cpu = cpu(pid(&h)).saturating_sub(cpu0);
    assert!(refused.rejected_datagrams <= FLOOD);
    assert!(
        flood_cpu < Duration::from_secs(10),
        "{FLOOD} refused datagrams cost {flood_cpu:?} of CPU"
    );

    // Giant datagrams (65,507 bytes of junk) from the allowed sender.
    let giant = UdpSocket::bind("127.0.0.2:0").unwrap();
    let before = health_until(&mut client, "fc", "health", |_| true).await;
    // Paced: the kernel keeps only a few of them in the socket's buffer.
    for i in 0..20u8 {
        giant
            .send_to(&vec![i.wrapping_mul(37) | 1; 65_507], target)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = health_until(&mut client, "fc", "giant datagrams read whole", |h| {
        h.bytes_read >= before.bytes_read + 65_507
    })
    .await;
    client.until("a fix after the giant datagrams", gps).await;
    let growth = rss(pid(&h)).saturating_sub(rss0);
    assert!(growth < 16 << 20, "RSS grew by {growth} bytes");
    autopilot.abort();
    eprintln!(
        "{} of {FLOOD} refused datagrams counted ({flood_cpu:?} CPU); giant datagrams: {} bytes read, no reading from them; RSS +{} KiB",
        refused.rejected_datagrams,
        after.bytes_read - before.bytes_read,
        growth / 1024
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_line_over_tcp_is_counted_and_bounded() {
    let (h, mut conn) = gps_over_tcp("tcp-endless", "nmea").await;
    let mut client = h.client().await;
    let rss0 = rss(pid(&h));
    // 32 MB of one line with no end.
    conn.write_all(b"$GPGGA,").await.unwrap();
    let chunk = vec![b'7'; 1 << 20];
    for _ in 0..32 {
        conn.write_all(&chunk).await.unwrap();
    }
    let health = |h: &SensorHealth| h.bytes_read >= 32 << 20 && h.framing_errors > 0;
    let seen = health_until(
        &mut client,
        "net",
        "the endless line read and counted",
        health,
    )
    .await;
    // Then a good sentence: the line is over, the decoder reads on.
    conn.write_all(b"\r\n$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n")
        .await
        .unwrap();
    let growth = rss(pid(&h)).saturating_sub(rss0);
    assert!(
        growth < 16 << 20,
        "RSS grew by {growth} bytes on an endless line"
    );
    eprintln!(
        "32 MB endless line: {} framing errors, RSS +{} KiB",
        seen.framing_errors,
        growth / 1024
    );
}
