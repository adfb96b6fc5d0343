//! `Daemon::apply` in process: the summary names what was kept, restarted,
//! started and stopped; a changed `[stream]` replaces the listeners while a
//! client of the old one keeps receiving frames; `[metrics]` comes and goes;
//! a `client_queue` change is refused as needing a restart; optional sinks
//! (`[udp]`, `[record]`) are started, stopped (the recording finished) and
//! restarted only when their own settings change; a change to the daemon
//! settings the sensors run with restarts every sensor.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use dronetel::sink::stream::StreamSink;
use dronetel::{Config, Daemon};
use dronetel_proto::FrameCodec;
use dronetel_testkit::mcap_read::the_finished_recording;
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

const DEADLINE: Duration = Duration::from_secs(15);

/// Sensors on missing devices: they report DISCONNECTED and retry, which is
/// all a diff needs.
fn config(dir: &Path, sensors: &[(&str, u32)], unix: bool, metrics: bool) -> Config {
    Config::parse(&config_text(dir, sensors, unix, metrics), "apply.toml").unwrap()
}

/// The text of [`config`].
fn config_text(dir: &Path, sensors: &[(&str, u32)], unix: bool, metrics: bool) -> String {
    let mut c = String::from("[daemon]\nvehicle_id = \"apply\"\nhealth_interval = \"100ms\"\n");
    for (name, baud) in sensors {
        c.push_str(&format!(
            "[[sensor]]\nname = \"{name}\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"{}\"\nbaud = {baud}\n",
            dir.join(format!("missing-{name}")).display()
        ));
    }
    c.push_str("[stream]\ntcp = \"127.0.0.1:0\"\n");
    if unix {
        c.push_str(&format!("unix = \"{}\"\n", dir.join("s.sock").display()));
    }
    if metrics {
        c.push_str("[metrics]\nlisten = \"127.0.0.1:0\"\n");
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_diffs_sensors_and_replaces_changed_listeners_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut daemon = Daemon::new(config(d, &[("a", 9600), ("b", 9600)], false, false));
    daemon.start().await.unwrap();
    let tcp = daemon.tcp_addr().unwrap();
    let conn = TcpStream::connect(tcp).await.unwrap();
    let mut old_client = FramedRead::new(conn, FrameCodec::default());
    let mut seqs = Vec::new();
    let mut next = async |seqs: &mut Vec<u64>| {
        let f = tokio::time::timeout(DEADLINE, old_client.next())
            .await
            .expect("a frame")
            .expect("open")
            .unwrap();
        seqs.push(f.seq);
        f
    };
    next(&mut seqs).await;

    // a unchanged, b changed, c new; unix and metrics added.
    let sum = daemon
        .apply(config(
            d,
            &[("a", 9600), ("b", 115200), ("c", 9600)],
            true,
            true,
        ))
        .await;
    assert_eq!(sum.kept, ["a"]);
    assert_eq!(sum.restarted, ["b"]);
    assert_eq!(sum.started, ["c"]);
    assert!(sum.stopped.is_empty() && sum.problems.is_empty(), "{sum:?}");
    assert_eq!(sum.sinks_changed, ["stream", "metrics"], "{sum:?}");
    assert!(d.join("s.sock").exists(), "new unix listener");
    let metrics = daemon.metrics_addr().expect("metrics started");
    TcpStream::connect(metrics).await.unwrap();
    assert_ne!(daemon.tcp_addr(), None);
    // The client of the replaced TCP listener still gets every frame,
    // including those of the new sensor.
    loop {
        if next(&mut seqs).await.sensor == "c" {
            break;
        }
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "gap in {seqs:?}");

    // c removed, metrics removed, client_queue change refused.
    let text = config_text(d, &[("a", 9600), ("b", 115200)], true, false)
        .replace("[stream]\n", "[stream]\nclient_queue = 7\n");
    let sum = daemon
        .apply(Config::parse(&text, "apply.toml").unwrap())
        .await;
    assert_eq!(sum.stopped, ["c"]);
    assert_eq!(sum.kept, ["a", "b"]);
    assert_eq!(sum.sinks_changed, ["metrics"], "{sum:?}");
    assert_eq!(daemon.metrics_addr(), None);
    assert_eq!(sum.problems.len(), 1, "{sum:?}");
    assert!(sum.problems[0].contains("client_queue"), "{sum:?}");
    let stream = daemon.config().sink::<StreamSink>().unwrap();
    assert_eq!(stream.client_queue, 1024);
    assert!(
        !daemon.status_board().snapshot().contains_key("c"),
        "removed sensor still on the status board"
    );

    // The daemon settings every sensor runs with restart them all.
    let slower = config_text(d, &[("a", 9600), ("b", 115200)], true, false)
        .replace("health_interval = \"100ms\"", "health_interval = \"200ms\"");
    let untrusted = slower.replace("[daemon]\n", "[daemon]\nhost_clock = \"untrusted\"\n");
    for text in [slower, untrusted] {
        let sum = daemon
            .apply(Config::parse(&text, "apply.toml").unwrap())
            .await;
        assert_eq!(sum.restarted, ["a", "b"], "{sum:?}");
        assert!(sum.kept.is_empty() && sum.problems.is_empty(), "{sum:?}");
    }

    let report = daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
    assert!(!d.join("s.sock").exists());
}

/// `config` with the optional sinks: `[udp]` to `udp`, `[record]` into
/// `DIR/rec`.
fn with_sinks(dir: &Path, udp: Option<std::net::SocketAddr>, record: bool) -> Config {
    let mut c = String::from("[daemon]\nvehicle_id = \"apply\"\nhealth_interval = \"100ms\"\n");
    c.push_str(&format!(
        "[[sensor]]\nname = \"a\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"{}\"\nbaud = 9600\n",
        dir.join("missing-a").display()
    ));
    c.push_str("[stream]\ntcp = \"127.0.0.1:0\"\n");
    if let Some(target) = udp {
        c.push_str(&format!("[udp]\ntarget = \"{target}\"\n"));
    }
    if record {
        c.push_str(&format!(
            "[record]\ndir = \"{}\"\nmin_free_space = 0\n",
            dir.join("rec").display()
        ));
    }
    Config::parse(&c, "sinks.toml").unwrap()
}

/// The names of the running sinks.
fn running(daemon: &Daemon) -> Vec<&'static str> {
    daemon.sinks().iter().map(|s| s.name()).collect()
}

/// The next datagram's sender and decoded frame.
async fn datagram(
    socket: &tokio::net::UdpSocket,
) -> (std::net::SocketAddr, dronetel_proto::v1::Frame) {
    use prost::Message;
    let mut buf = vec![0u8; 65_536];
    let (n, from) = tokio::time::timeout(DEADLINE, socket.recv_from(&mut buf))
        .await
        .expect("a datagram")
        .unwrap();
    let frame = dronetel_proto::v1::Frame::decode(&buf[..n]).expect("one Frame per datagram");
    (from, frame)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_starts_stops_and_restarts_only_the_changed_optional_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ground = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = ground.local_addr().unwrap();
    let mut daemon = Daemon::new(with_sinks(d, None, false));
    daemon.start().await.unwrap();
    assert_eq!(running(&daemon), ["stream"]);

    // Both sinks added by a reload: datagrams arrive, a recording starts.
    let sum = daemon.apply(with_sinks(d, Some(target), true)).await;
    assert_eq!(sum.sinks_changed, ["udp", "record"], "{sum:?}");
    assert!(sum.problems.is_empty(), "{sum:?}");
    let (sender, _) = datagram(&ground).await;
    let recorded_before = daemon.bus().last_seq();
    // Let the recording hold frames published after the reload.
    loop {
        let (_, f) = datagram(&ground).await;
        if f.seq > recorded_before + 3 {
            break;
        }
    }

    // Recording removed, UDP unchanged: the file is finished and indexed,
    // the UDP sink keeps running untouched (same socket, same sender port).
    let sum = daemon.apply(with_sinks(d, Some(target), false)).await;
    assert_eq!(sum.sinks_changed, ["record"], "{sum:?}");
    assert_eq!(running(&daemon), ["stream", "udp"]);
    let (_, summary) = the_finished_recording(&d.join("rec"));
    let recorded = summary.stats.expect("statistics").message_count;
    assert!(recorded >= 4, "{recorded} messages recorded");
    let (still, _) = datagram(&ground).await;
    assert_eq!(still, sender, "the unchanged UDP sink was restarted");

    // UDP changed (a new target): restarted, datagrams go to the new one.
    let ground2 = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sum = daemon
        .apply(with_sinks(d, Some(ground2.local_addr().unwrap()), false))
        .await;
    assert_eq!(sum.sinks_changed, ["udp"], "{sum:?}");
    datagram(&ground2).await;

    // UDP removed.
    let sum = daemon.apply(with_sinks(d, None, false)).await;
    assert_eq!(sum.sinks_changed, ["udp"], "{sum:?}");
    assert_eq!(running(&daemon), ["stream"]);
    let report = daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
}
