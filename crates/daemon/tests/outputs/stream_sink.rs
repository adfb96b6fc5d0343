//! The stream sink over real sockets: client cap, a stalled client not
//! delaying another, Unix socket mode and lifecycle, drain on shutdown.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dronetel::config::DaemonConfig;
use dronetel::sink::contract::{Endpoint, SinkError, SinkHandle};
use dronetel::sink::registry::start_sink;
use dronetel::sink::stream::{StreamConfig, StreamSink};
use dronetel::sink::SinksConfig;
use dronetel::{Bus, Config, Daemon, TaskContext};
use dronetel_proto::v1::{frame::Body, Frame, SensorHealth};
use dronetel_proto::FrameCodec;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpSocket, TcpStream, UnixStream};
use tokio_util::codec::FramedRead;

const DEADLINE: Duration = Duration::from_secs(10);

fn stream_config(tcp: bool, unix: Option<PathBuf>, max_clients: usize) -> StreamConfig {
    StreamConfig {
        tcp: tcp.then(|| "127.0.0.1:0".parse().unwrap()),
        unix,
        max_clients,
        client_queue: StreamConfig::DEFAULT_CLIENT_QUEUE,
        max_client_drops: 0,
        write_timeout: Duration::from_secs(30),
    }
}

/// Starts the stream sink alone on `ctx` and `bus`.
async fn start(cfg: &StreamConfig, ctx: &TaskContext, bus: &Bus) -> Result<SinkHandle, SinkError> {
    start_sink::<StreamSink>(cfg, ctx, bus, "test").await
}

/// The TCP address a started stream sink listens on.
fn tcp_addr(sink: &SinkHandle) -> SocketAddr {
    sink.endpoints()
        .iter()
        .find_map(|e| match e {
            Endpoint::Tcp(a) => Some(*a),
            Endpoint::Unix(_) => None,
        })
        .unwrap()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dronetel-test")
        .tempdir()
        .unwrap()
}

fn health() -> Body {
    Body::Health(SensorHealth::default())
}

/// A frame of about 10 KB that is cheap to decode, to fill socket buffers
/// quickly.
fn big() -> Body {
    Body::Health(SensorHealth {
        last_error: "x".repeat(10_000),
        ..Default::default()
    })
}

/// Reads frames until `pred` holds for one, within the deadline.
async fn read_until<R: AsyncRead + Unpin>(
    frames: &mut FramedRead<R, FrameCodec>,
    mut pred: impl FnMut(&Frame) -> bool,
) -> Frame {
    tokio::time::timeout(DEADLINE, async {
        loop {
            let f = frames.next().await.expect("stream ended").unwrap();
            if pred(&f) {
                return f;
            }
        }
    })
    .await
    .expect("frame not received within the deadline")
}

/// Publishes health frames until `conn` has received one (it is accepted
/// and being served), within the deadline.
async fn until_served<R: AsyncRead + Unpin>(bus: &Bus, conn: R) -> FramedRead<R, FrameCodec> {
    let mut frames = FramedRead::new(conn, FrameCodec::default());
    assert!(
        served(bus, &mut frames, DEADLINE).await,
        "client not served"
    );
    frames
}

/// Publishes health frames every 20 ms until `frames` yields one (true) or
/// ends or `limit` passes (false).
async fn served<R: AsyncRead + Unpin>(
    bus: &Bus,
    frames: &mut FramedRead<R, FrameCodec>,
    limit: Duration,
) -> bool {
    let wait = async {
        loop {
            bus.publish("probe", health());
            tokio::select! {
                f = frames.next() => return matches!(f, Some(Ok(_))),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    };
    tokio::time::timeout(limit, wait).await.unwrap_or(false)
}

/// True when the peer closed the connection without sending anything.
async fn closed_at_once<R: AsyncRead + Unpin>(mut conn: R) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(DEADLINE, conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn the_client_beyond_max_clients_is_refused_and_its_slot_reused() {
    let dir = temp_dir();
    let sock = dir.path().join("stream.sock");
    let (ctx, bus) = (TaskContext::new(), Bus::new(64));
    let sink = start(&stream_config(true, Some(sock.clone()), 2), &ctx, &bus)
        .await
        .unwrap();
    let addr = tcp_addr(&sink);

    let a = until_served(&bus, TcpStream::connect(addr).await.unwrap()).await;
    let _b = until_served(&bus, UnixStream::connect(&sock).await.unwrap()).await;
    // The cap counts TCP and Unix clients together.
    assert!(closed_at_once(TcpStream::connect(addr).await.unwrap()).await);
    assert!(closed_at_once(UnixStream::connect(&sock).await.unwrap()).await);

    // A client leaving frees its slot (once its task notices).
    drop(a);
    tokio::time::timeout(DEADLINE, async {
        loop {
            let c = TcpStream::connect(addr).await.unwrap();
            let mut c = FramedRead::new(c, FrameCodec::default());
            if served(&bus, &mut c, Duration::from_millis(500)).await {
                return;
            }
        }
    })
    .await
    .expect("slot not reused");
    ctx.token.cancel();
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_delay_another() {
    // 256 frames of 10 KB per client: the stalled one overflows it.
    let (ctx, bus) = (TaskContext::new(), Bus::new(256));
    let sink = start(&stream_config(true, None, 8), &ctx, &bus)
        .await
        .unwrap();
    let addr: SocketAddr = tcp_addr(&sink);

    // The stalled client: a small receive buffer, and it never reads.
    let stalled_sock = TcpSocket::new_v4().unwrap();
    stalled_sock.set_recv_buffer_size(4096).unwrap();
    let stalled = stalled_sock.connect(addr).await.unwrap();
    let mut reader = until_served(&bus, TcpStream::connect(addr).await.unwrap()).await;
    // Make sure the stalled one is being served too before the flood.
    let mut stalled = until_served(&bus, stalled).await;
    let first = bus.last_seq() + 1;

    // ~20 MB in bursts of 100 frames; before each burst the publisher lets
    // the reading client catch up, so only the stalled one can fall behind.
    let (progress, mut caught_up) = tokio::sync::watch::channel(first - 1);
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                let published = bus.last_seq();
                caught_up.wait_for(|s| *s >= published).await.unwrap();
                for _ in 0..100 {
                    bus.publish("gps", big());
                }
            }
            bus.last_seq()
        })
    };
    let last = tokio::time::timeout(DEADLINE, async {
        let mut want = first;
        while want <= first + 1999 {
            let f = reader.next().await.expect("stream ended").unwrap();
            if f.seq >= first {
                assert_eq!(f.seq, want, "the reading client lost or reordered frames");
                progress.send_replace(want);
                want += 1;
            }
        }
        want - 1
    })
    .await
    .expect("the reading client was delayed");
    assert_eq!(publisher.await.unwrap(), last);
    // The stalled client was still connected: reading it now yields the
    // frames it had queued, up to the newest, minus the oldest it lost.
    let mut stalled_got = 0u64;
    read_until(&mut stalled, |f| {
        stalled_got += u64::from(f.seq >= first);
        f.seq == last
    })
    .await;
    assert!(
        stalled_got < 2000,
        "the stalled client lost nothing: test proves nothing"
    );
    assert!(bus.dropped() >= 2000 - stalled_got);
    ctx.token.cancel();
}

#[tokio::test]
async fn unix_socket_is_0600_replaces_a_stale_file_and_refuses_a_live_one() {
    let dir = temp_dir();
    let sock = dir.path().join("run/stream.sock");
    // A stale socket file from a dead process.
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());

    let cfg = stream_config(false, Some(sock.clone()), 4);
    let (ctx, bus) = (TaskContext::new(), Bus::new(64));
    let _sink = start(&cfg, &ctx, &bus).await.unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A second daemon must not steal a live socket.
    let other = TaskContext::new();
    let e = start(&cfg, &other, &bus).await.unwrap_err().to_string();
    assert!(e.contains("stream.sock") && e.contains("listening"), "{e}");
    // A regular file in the way is not removed.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(
        start(&stream_config(false, Some(file.clone()), 1), &other, &bus)
            .await
            .is_err()
    );
    assert!(file.exists());

    let _c = until_served(&bus, UnixStream::connect(&sock).await.unwrap()).await;
    ctx.token.cancel();
    ctx.tracker.close();
    drop(bus);
    tokio::time::timeout(DEADLINE, ctx.tracker.wait())
        .await
        .unwrap();
    assert!(!sock.exists(), "socket file left behind");
}

fn daemon_config(unix: &Path) -> Config {
    Config::new(
        DaemonConfig {
            vehicle_id: "test".into(),
            shutdown_grace: Duration::from_secs(3),
            health_interval: Duration::from_secs(1),
            host_clock: dronetel::sensor::HostClock::default(),
        },
        vec![],
        SinksConfig::default().with::<StreamSink>(stream_config(true, Some(unix.to_path_buf()), 4)),
    )
}

#[tokio::test]
async fn shutdown_drains_every_published_frame_then_closes() {
    let dir = temp_dir();
    let sock = dir.path().join("stream.sock");
    let mut daemon = Daemon::new(daemon_config(&sock));
    daemon.start().await.unwrap();
    let addr = daemon.tcp_addr().unwrap();
    let mut tcp = until_served(daemon.bus(), TcpStream::connect(addr).await.unwrap()).await;
    let mut unix = until_served(daemon.bus(), UnixStream::connect(&sock).await.unwrap()).await;
    let first = daemon.bus().last_seq() + 1;
    for _ in 0..500 {
        daemon.bus().publish("gps", big());
    }
    let last = daemon.bus().last_seq();
    let shutdown = tokio::spawn(daemon.shutdown());
    // Everything published before shutdown arrives, then a clean end.
    for frames in [&mut tcp as &mut dyn DrainCheck, &mut unix] {
        frames.check(first, last).await;
    }
    let report = shutdown.await.unwrap();
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
    assert!(!sock.exists(), "socket file left behind");
}

/// Reads to the end of a stream, asserting it holds exactly `first..=last`
/// (after any earlier frames) and ends cleanly.
trait DrainCheck {
    fn check(
        &mut self,
        first: u64,
        last: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>;
}

impl<R: AsyncRead + Unpin> DrainCheck for FramedRead<R, FrameCodec> {
    fn check(
        &mut self,
        first: u64,
        last: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
        Box::pin(async move {
            let f = read_until(self, |f| f.seq >= first).await;
            assert_eq!(f.seq, first);
            let mut want = first + 1;
            let end = tokio::time::timeout(DEADLINE, async {
                while let Some(f) = self.next().await {
                    assert_eq!(f.unwrap().seq, want);
                    want += 1;
                }
            });
            end.await.expect("stream not closed after drain");
            assert_eq!(want, last + 1, "frames missing at the end");
        })
    }
}

#[tokio::test]
async fn a_client_stuck_at_shutdown_is_named_and_aborted_at_the_deadline() {
    let dir = temp_dir();
    let mut config = daemon_config(&dir.path().join("stream.sock"));
    config.daemon.shutdown_grace = Duration::from_millis(300);
    let mut daemon = Daemon::new(config);
    daemon.start().await.unwrap();
    let addr = daemon.tcp_addr().unwrap();
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stuck = until_served(daemon.bus(), sock.connect(addr).await.unwrap()).await;
    let peer = stuck.get_ref().local_addr().unwrap();
    // More than the socket buffers hold, never read.
    for _ in 0..1000 {
        daemon.bus().publish("gps", big());
    }
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(DEADLINE, daemon.shutdown())
        .await
        .unwrap();
    assert_eq!(report.aborted, vec![format!("stream client tcp:{peer}")]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
}
