//! Acceptance of the UDP sink and per-consumer rates: a loopback socket
//! receives decodable frames at the configured rate, none over the size
//! limit; a stream client subscribed to GPS at 1 Hz gets 1 Hz while another
//! gets the full rate.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use dronetel::selection::Kind;
use dronetel::sink::SinkStats;
use dronetel_proto::v1::{frame::Body, Frame, FrameKind, RateLimit, Subscribe};
use dronetel_testkit::client::Client;
use dronetel_testkit::in_process::InProc;
use dronetel_testkit::DEADLINE;
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt::ReceiveTimestampns, ControlMessageOwned, MsgFlags,
};
use nix::sys::time::TimeSpec;
use prost::Message;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Frames per second over the arrivals of a kind (first to last).
fn rate(times: &[Instant]) -> f64 {
    let span = times.last().unwrap().duration_since(times[0]).as_secs_f64();
    (times.len() - 1) as f64 / span
}

/// Frames per second over kernel arrival times (first to last).
fn stamped_rate(times: &[Duration]) -> f64 {
    let span = (*times.last().unwrap() - times[0]).as_secs_f64();
    (times.len() - 1) as f64 / span
}

/// The next datagram on `rx` (asked for `SO_TIMESTAMPNS`) into `buf`: its
/// length and when the kernel received it, which the test's own scheduling
/// (a late read) cannot move.
async fn recv_stamped(rx: &UdpSocket, buf: &mut [u8]) -> (usize, Duration) {
    loop {
        rx.readable().await.unwrap();
        let got = rx.try_io(Interest::READABLE, || {
            let mut iov = [IoSliceMut::new(&mut *buf)];
            let mut space = nix::cmsg_space!(TimeSpec);
            let m = recvmsg::<()>(
                rx.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::empty(),
            )?;
            let stamp = m.cmsgs()?.find_map(|c| match c {
                ControlMessageOwned::ScmTimestampns(t) => {
                    Some(Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
                }
                _ => None,
            });
            Ok((m.bytes, stamp))
        });
        match got {
            Ok((n, stamp)) => return (n, stamp.expect("a kernel receive timestamp")),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("recvmsg: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_decode_at_the_configured_rate_and_never_exceed_the_limit() {
    let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Gaps measured at the kernel's arrival, not when this test gets to read.
    setsockopt(&rx, ReceiveTimestampns, &true).unwrap();
    let target = rx.local_addr().unwrap();
    // 10 Hz GPS decimated to 2 Hz; 300 bytes is too small for a sky view.
    let extra =
        format!("[udp]\ntarget = \"{target}\"\nmax_datagram = 300\nmax_rate = {{ gps = 2.0 }}\n");
    let h = InProc::start("udp", 10.0, &extra).await;
    let mut buf = vec![0u8; 65_536];
    let mut gps_times = Vec::new();
    let mut largest = 0;
    let mut health = 0;
    let t0 = Instant::now();
    while gps_times.len() < 9 {
        assert!(
            t0.elapsed() < DEADLINE,
            "only {} gps datagrams",
            gps_times.len()
        );
        let (n, arrived) = tokio::time::timeout(DEADLINE, recv_stamped(&rx, &mut buf))
            .await
            .unwrap();
        largest = largest.max(n);
        assert!(n <= 300, "datagram of {n} bytes over the 300 byte limit");
        let f = Frame::decode(&buf[..n]).expect("every datagram is one Frame");
        match f.body {
            Some(Body::Gps(g)) => {
                assert!(g.sky.is_empty(), "sky kept in a 300 byte datagram");
                gps_times.push(arrived);
            }
            Some(Body::Health(_)) => health += 1,
            other => panic!("unexpected body {other:?}"),
        }
    }
    let hz = stamped_rate(&gps_times);
    let min_gap = gps_times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    let stats = h.daemon.sinks().get("udp").unwrap().stats().clone();
    let trimmed = SinkStats::get(&stats.trimmed);
    eprintln!("udp: {} gps datagrams at {hz:.2} Hz (min gap {min_gap:?}), {health} health, largest {largest} B, trimmed {trimmed}", gps_times.len());
    assert!((1.6..=2.1).contains(&hz), "gps at {hz} Hz, configured 2 Hz");
    assert!(min_gap >= Duration::from_millis(450), "gap {min_gap:?}");
    assert!(trimmed >= 8, "sky views dropped are counted: {trimmed}");
    h.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_keeps_the_sky_when_it_fits() {
    let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = rx.local_addr().unwrap();
    let h = InProc::start(
        "udp-sky",
        5.0,
        &format!("[udp]\ntarget = \"{target}\"\nmax_datagram = 8000\n"),
    )
    .await;
    let mut buf = vec![0u8; 65_536];
    let (mut with_sky, mut largest) = (0, 0);
    let t0 = Instant::now();
    while with_sky < 3 {
        assert!(
            t0.elapsed() < DEADLINE,
            "no sky view in 8000 bytes (largest {largest} B)"
        );
        let (n, _) = tokio::time::timeout(DEADLINE, rx.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n <= 8000, "{n} bytes over the 8000 limit");
        largest = largest.max(n);
        if let Some(Body::Gps(g)) = Frame::decode(&buf[..n]).unwrap().body {
            if !g.sky.is_empty() {
                with_sky += 1;
            }
        }
    }
    let trimmed = SinkStats::get(&h.daemon.sinks().get("udp").unwrap().stats().trimmed);
    eprintln!(
        "udp 8000 B limit: largest datagram {largest} B, {with_sky} with sky, {trimmed} trimmed"
    );
    h.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_subscribed_at_1_hz_gets_1_hz_while_another_gets_the_full_rate() {
    let h = InProc::start("subscribe", 10.0, "").await;
    let sub = Subscribe {
        sensors: vec!["gps0".into()],
        kinds: vec![FrameKind::Gps as i32],
        max_rate: vec![RateLimit {
            kind: FrameKind::Gps as i32,
            max_hz: 1.0,
        }],
    };
    let mut slow = Client::connect(h.tcp(), Some(&sub)).await;
    let mut full = Client::connect(h.tcp(), None).await;
    let full_task = tokio::spawn(async move {
        let mut times = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            let f = full.next().await.unwrap();
            let k = Kind::of(&f).unwrap();
            kinds.insert(k);
            if k == Kind::Gps {
                times.push(Instant::now());
            }
        }
        (times, kinds)
    });
    let mut times = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        let f = slow.next().await.unwrap();
        assert_eq!(
            Kind::of(&f),
            Some(Kind::Gps),
            "the filter passes only gps: {f:?}"
        );
        times.push(Instant::now());
    }
    let (full_times, full_kinds) = full_task.await.unwrap();
    let (slow_hz, full_hz) = (rate(&times), rate(&full_times));
    eprintln!("subscribed client: {} gps at {slow_hz:.2} Hz; full client: {} gps at {full_hz:.2} Hz, kinds {full_kinds:?}", times.len(), full_times.len());
    assert!((0.8..=1.05).contains(&slow_hz), "{slow_hz} Hz");
    assert!(full_hz > 8.0, "{full_hz} Hz");
    assert!(full_kinds.contains(&Kind::Health));
    h.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_subscribe_closes_the_connection() {
    let h = InProc::start("badsub", 5.0, "").await;
    let sub = Subscribe {
        max_rate: vec![RateLimit {
            kind: FrameKind::Gps as i32,
            max_hz: -1.0,
        }],
        ..Default::default()
    };
    let mut c = Client::connect(h.tcp(), Some(&sub)).await;
    assert!(c.next().await.is_none(), "connection closed without frames");
    h.daemon.shutdown().await;
}
