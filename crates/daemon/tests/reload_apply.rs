//! `Daemon::apply` in process: the summary names what was kept, restarted,
//! started and stopped; a changed `[stream]` replaces the listeners while a
//! client of the old one keeps receiving frames; `[metrics]` comes and goes;
//! a `client_queue` change is refused as needing a restart.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use dronetel::{Config, Daemon};
use dronetel_proto::FrameCodec;
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

const DEADLINE: Duration = Duration::from_secs(15);

/// Sensors on missing devices: they report DISCONNECTED and retry, which is
/// all a diff needs.
fn config(dir: &Path, sensors: &[(&str, u32)], unix: bool, metrics: bool) -> Config {
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
    Config::parse(&c, "apply.toml").unwrap()
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
    assert!(sum.stream_restarted && sum.metrics_changed);
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
    let mut cfg = config(d, &[("a", 9600), ("b", 115200)], true, false);
    cfg.stream.client_queue = 7;
    let sum = daemon.apply(cfg).await;
    assert_eq!(sum.stopped, ["c"]);
    assert_eq!(sum.kept, ["a", "b"]);
    assert!(sum.metrics_changed && !sum.stream_restarted, "{sum:?}");
    assert_eq!(daemon.metrics_addr(), None);
    assert_eq!(sum.problems.len(), 1, "{sum:?}");
    assert!(sum.problems[0].contains("client_queue"), "{sum:?}");
    assert_eq!(daemon.config().stream.client_queue, 1024);
    assert!(
        !daemon.status_board().snapshot().contains_key("c"),
        "removed sensor still on the status board"
    );

    let report = daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
    assert!(!d.join("s.sock").exists());
}
