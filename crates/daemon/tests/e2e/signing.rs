//! MAVLink 2 signing on a UDP link, with pymavlink (PyPI, in the test's
//! private venv) as the independent signer: a signed flight-controller
//! stream is used; unsigned frames with a foreign position injected beside
//! it are counted and never published; a replayed signed frame is
//! rejected; a stream signed with another key gives nothing.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use dronetel_proto::v1::frame::Body;
use dronetel_proto::v1::SensorHealth;
use dronetel_testkit::harness::Harness;
use dronetel_testkit::ports::{free_port, udp_bound};
use dronetel_testkit::python::venv_with;
use dronetel_testkit::{wait_until, DEADLINE};
use tokio::process::Command;

use crate::DRONETEL;

/// The autopilot, signed with SHA-256(argv[2]) as MAVProxy's `signing
/// setup` derives it: HEARTBEATs and GPS_RAW_INT at 47.3977420 N for
/// argv[3] rounds, each followed by an unsigned HEARTBEAT and GPS_RAW_INT
/// at 10 N from another connection, and at the end the first signed
/// frame sent again byte for byte (a replay). Prints what it sent.
const AUTOPILOT_PY: &str = r#"
import hashlib, socket, sys, time
from pymavlink.dialects.v20 import common as mavlink2
port, passphrase, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
class Out:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.frames = []
    def write(self, buf):
        self.frames.append(bytes(buf))
        self.s.sendto(buf, ("127.0.0.1", port))
signed_out, plain_out = Out(), Out()
signed = mavlink2.MAVLink(signed_out, srcSystem=1, srcComponent=1)
signed.signing.secret_key = hashlib.sha256(passphrase.encode("utf-8")).digest()
signed.signing.link_id = 0
signed.signing.sign_outgoing = True
signed.signing.timestamp = int((time.time() - 1420070400) * 100000)
plain = mavlink2.MAVLink(plain_out, srcSystem=1, srcComponent=1)
for _ in range(rounds):
    signed.heartbeat_send(mavlink2.MAV_TYPE_QUADROTOR, mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 0)
    signed.gps_raw_int_send(0, 3, 473977420, 85455940, 488000, 100, 100, 0, 0, 10)
    plain.heartbeat_send(mavlink2.MAV_TYPE_QUADROTOR, mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 0)
    plain.gps_raw_int_send(0, 3, 100000000, 200000000, 488000, 100, 100, 0, 0, 10)
    time.sleep(0.05)
signed_out.s.sendto(signed_out.frames[0], ("127.0.0.1", port))
print(len(signed_out.frames), len(plain_out.frames), 1)
"#;

/// A key file holding `passphrase`, mode 0600, in `dir`.
fn key_file(dir: &Path, passphrase: &str) -> std::path::PathBuf {
    let f = dir.join("mavlink.key");
    std::fs::write(&f, format!("{passphrase}\n")).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    f
}

/// A daemon whose flight controller listens on UDP with the signing key
/// `passphrase`; pymavlink sends `rounds` rounds signed with `signer`.
/// Returns the daemon's last health of `fc` once every frame is accounted
/// for, and the GPS latitudes it published.
async fn run(
    tag: &str,
    passphrase: &str,
    signer: &str,
    rounds: u32,
) -> (SensorHealth, Vec<f64>, [u64; 3]) {
    let venv = venv_with(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "venv-mavproxy",
        &["mavproxy"],
        "import MAVProxy, pymavlink",
    );
    let port = free_port();
    let keys = tempfile::tempdir().unwrap();
    let key = key_file(keys.path(), passphrase);
    let section = format!(
        "[[sensor]]\nname = \"fc\"\nkind = \"flight_controller\"\nprotocol = \"mavlink\"\npath = \"udp://127.0.0.1:{port}\"\nsigning_key_file = \"{}\"\n",
        key.display()
    );
    let h = Harness::with_sensor_sections(DRONETEL, tag, section).await;
    let mut client = h.subscribed_client().await;
    // The sensor opens its socket after the sinks start: every datagram of
    // the burst must find it bound, or it is lost and never accounted for.
    wait_until("the flight controller's UDP socket bound", || {
        udp_bound(port)
    })
    .await;
    let out = Command::new(venv.join("python"))
        .args([
            "-c",
            AUTOPILOT_PY,
            &port.to_string(),
            signer,
            &rounds.to_string(),
        ])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sent: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let sent = [sent[0], sent[1], sent[2]];
    let total = sent.iter().sum::<u64>();
    let mut latitudes = Vec::new();
    let t0 = Instant::now();
    let health = loop {
        let f = client.next().await.expect("stream open");
        match (f.sensor.as_str(), f.body) {
            ("fc", Some(Body::Gps(g))) => latitudes.extend(g.latitude_deg),
            ("fc", Some(Body::Health(hh)))
                if hh.messages_ok + hh.unsigned_messages + hh.bad_signatures >= total =>
            {
                break hh
            }
            _ => {}
        }
        assert!(t0.elapsed() < DEADLINE, "not every frame accounted for");
    };
    (health, latitudes, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_frames_are_used_and_injected_or_replayed_ones_counted() {
    let (h, latitudes, [signed, unsigned, replayed]) =
        run("signed", "drone-42 secret", "drone-42 secret", 20).await;
    assert_eq!(h.messages_ok, signed, "every signed frame used: {h:?}");
    assert_eq!(h.unsigned_messages, unsigned, "{h:?}");
    assert_eq!(h.bad_signatures, replayed, "the replay rejected: {h:?}");
    assert!(!latitudes.is_empty(), "signed fixes published");
    assert!(
        latitudes.iter().all(|l| (*l - 47.397742).abs() < 1e-9),
        "an injected position was published: {latitudes:?}"
    );
    eprintln!("{signed} signed frames used; {unsigned} unsigned and {replayed} replayed frames counted and dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_signed_with_another_key_gives_nothing() {
    let (h, latitudes, [signed, unsigned, replayed]) =
        run("wrong-key", "the right key", "a wrong key", 10).await;
    assert_eq!(h.messages_ok, 0, "{h:?}");
    assert!(latitudes.is_empty(), "{latitudes:?}");
    assert_eq!(h.bad_signatures, signed + replayed, "{h:?}");
    assert_eq!(h.unsigned_messages, unsigned, "{h:?}");
}
