//! The MQTT sink over TLS (`mqtts://`, feature `tls`) against a real
//! mosquitto: a TLS listener that demands a client certificate signed by the
//! test CA and a user name with a password, beside a plain listener for the
//! test's subscriber. Certificates are made fresh by each test (rcgen).
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, missing_docs)]

mod mqtt_common;
mod outputs_common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dronetel::sink::SinkStats;
use dronetel_proto::v1::frame::Body;
use mqtt_common::{start_broker, stop_broker, subscriber, Msg};
use outputs_common::{free_port, Client, InProc, DEADLINE};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use tokio::sync::mpsc::UnboundedReceiver;

/// A CA and its key.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// Writes `<name>.pem` and `<name>.key`, a certificate signed by `ca`.
fn leaf(dir: &Path, name: &str, ca: &Ca, sans: &[&str], usage: ExtendedKeyUsagePurpose) {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![usage];
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

/// Test PKI in `dir`: `ca.pem`, `server.{pem,key}` (127.0.0.1), client
/// `drone.{pem,key}`, and `other-ca.pem` that signed neither.
fn pki(dir: &Path) {
    let ca_ = ca("dronetel test CA");
    std::fs::write(dir.join("ca.pem"), ca_.cert.pem()).unwrap();
    leaf(
        dir,
        "server",
        &ca_,
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    leaf(dir, "drone", &ca_, &[], ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(dir.join("other-ca.pem"), ca("another CA").cert.pem()).unwrap();
}

/// A broker with a plain listener on `plain` and a TLS listener on `tls`
/// requiring a client certificate and user `drone` / password `s3cret`.
fn tls_broker(dir: &Path, plain: u16, tls: u16) -> std::process::Child {
    let bin = mqtt_common::mosquitto();
    pki(dir);
    let passwd = dir.join("passwd");
    // Installed with mosquitto, in /usr/bin while mosquitto is in /usr/sbin.
    let mk = Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["drone", "s3cret"])
        .status()
        .unwrap();
    assert!(mk.success(), "mosquitto_passwd failed");
    let d = dir.display();
    let extra = format!(
        "listener {tls} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\nrequire_certificate true\nallow_anonymous false\npassword_file {d}/passwd\n"
    );
    let broker = start_broker(&bin, dir, plain, &extra);
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", tls)).is_err() {
        assert!(t0.elapsed() < DEADLINE, "the TLS listener did not listen");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    broker
}

/// The broker of a test: its process and its TLS port.
struct Broker {
    child: std::process::Child,
    tls: u16,
}

/// A fresh PKI and broker, and a subscriber to `dronetel/v1/#` on the plain
/// listener that is known to be subscribed.
async fn setup() -> (tempfile::TempDir, Broker, UnboundedReceiver<Msg>) {
    let dir = tempfile::tempdir().unwrap();
    let (plain, tls) = (free_port(), free_port());
    let d = dir.path().to_owned();
    let child = tokio::task::spawn_blocking(move || tls_broker(&d, plain, tls))
        .await
        .unwrap();
    let mut sub = subscriber(plain, "tls-test-sub", true, "dronetel/v1/#");
    mqtt_common::wait_subscribed(plain, &mut sub).await;
    (dir, Broker { child, tls }, sub)
}

/// The `[mqtt]` section for the TLS listener, trusting `ca_file`.
fn mqtts(broker: &Broker, dir: &Path, ca_file: &str) -> String {
    let (d, tls) = (dir.display(), broker.tls);
    std::fs::write(dir.join("password"), "s3cret\n").unwrap();
    format!(
        "[mqtt]\nurl = \"mqtts://127.0.0.1:{tls}\"\nca_file = \"{d}/{ca_file}\"\nclient_cert = \"{d}/drone.pem\"\nclient_key = \"{d}/drone.key\"\nusername = \"drone\"\npassword_file = \"{d}/password\"\nqueue = 5\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_reach_a_tls_broker_with_client_certificate_and_password() {
    let (dir, broker, mut sub) = setup().await;
    let h = InProc::start("mqtts", 10.0, &mqtts(&broker, dir.path(), "ca.pem")).await;

    let (mut gps, t0) = (0, Instant::now());
    while gps < 10 {
        assert!(t0.elapsed() < DEADLINE, "{gps} gps frames over TLS");
        let m = tokio::time::timeout(DEADLINE, sub.recv())
            .await
            .unwrap()
            .unwrap();
        if m.topic == "dronetel/v1/gps0/gps" {
            assert!(matches!(m.frame.body, Some(Body::Gps(_))));
            gps += 1;
        }
    }
    let stats = h.daemon.sinks().get("mqtt").unwrap().stats().clone();
    eprintln!(
        "mqtts: {gps} gps frames through the TLS listener in {:?}, {} dropped",
        t0.elapsed(),
        SinkStats::get(&stats.dropped)
    );
    h.daemon.shutdown().await;
    stop_broker(broker.child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_from_another_ca_is_refused_and_never_blocks_the_sensor() {
    let (dir, broker, mut sub) = setup().await;
    let h = InProc::start(
        "mqtts-bad",
        10.0,
        &mqtts(&broker, dir.path(), "other-ca.pem"),
    )
    .await;
    let stats = h.daemon.sinks().get("mqtt").unwrap().stats().clone();
    let mut stream = Client::connect(h.tcp(), None).await;

    // The queue (5 frames) fills and overflows, counted, while the stream
    // keeps getting every frame: the handshake failure stalls nothing.
    let (mut last, t0) = (0, Instant::now());
    while SinkStats::get(&stats.dropped) < 20 {
        assert!(t0.elapsed() < DEADLINE, "the queue never overflowed");
        let f = stream.next().await.unwrap();
        assert!(last == 0 || f.seq == last + 1, "stream gap at {}", f.seq);
        last = f.seq;
    }
    let leaked = std::iter::from_fn(|| sub.try_recv().ok())
        .filter(|m| m.topic != "dronetel/v1/probe")
        .count();
    eprintln!(
        "mqtts with the wrong CA: {} frames dropped (queue 5) in {:?}, stream contiguous to seq {last}, {leaked} reached the broker",
        SinkStats::get(&stats.dropped),
        t0.elapsed()
    );
    assert_eq!(leaked, 0, "frames crossed an unverified TLS connection");
    h.daemon.shutdown().await;
    stop_broker(broker.child);
}
