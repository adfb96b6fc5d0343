//! The flight controller on the network, as SITL: its MAVLink over UDP
//! (valid frames, commands taken back) and served to TCP clients that come
//! and go, with faults (unplug, corruption) on those outputs too.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dronetel_proto::v1::BatterySource;
use dronetel_wire::mavlink::encode;
use dronetel_wire::mavlink::options::RateRequest;
use dronetel_wire::mavlink::MavlinkDecoder;
use dronetel_wire::{Reading, SensorDecoder};
use firmware_sim::{FaultRates, SimOptions, Simulator};
use mavlink::{MavHeader, MavlinkVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::common::{Scratch, DEADLINE};

const LOOPBACK_ANY: &str = "127.0.0.1:0";

async fn start(dir: &Scratch, udp: Option<SocketAddr>, tcp: bool) -> Simulator {
    Simulator::start(SimOptions {
        fc_udp: udp,
        fc_tcp_listen: tcp.then(|| LOOPBACK_ANY.parse().unwrap()),
        ..SimOptions::new(&dir.0)
    })
    .await
    .unwrap()
}

/// A SET_MESSAGE_INTERVAL frame as the daemon sends it.
fn set_message_interval() -> Vec<u8> {
    let msg = encode::set_message_interval(
        firmware_sim::FC_SYSTEM_ID,
        1,
        RateRequest {
            message_id: 147,
            interval: Duration::from_millis(200),
        },
    );
    let header = MavHeader {
        system_id: 255,
        component_id: 190,
        sequence: 0,
    };
    let mut out = Vec::new();
    encode::frame(MavlinkVersion::V2, header, &msg, &mut out);
    out
}

/// What a decoder made of the stream so far.
#[derive(Default)]
struct Seen {
    decoder: MavlinkDecoder,
    buf: BytesMut,
    heartbeats: usize,
    sys_status: usize,
    gps_raw: usize,
}

impl Seen {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        self.decoder.decode_all(&mut self.buf, &mut out);
        for r in out {
            match r {
                Reading::Vehicle(_) => self.heartbeats += 1,
                Reading::Battery(b) if b.source == BatterySource::SysStatus as i32 => {
                    self.sys_status += 1
                }
                Reading::Gps(g) if g.cycle_end == "GPS_RAW_INT" => self.gps_raw += 1,
                _ => {}
            }
        }
    }

    fn all_kinds(&self) -> bool {
        self.heartbeats > 0 && self.sys_status > 0 && self.gps_raw > 0
    }
}

/// Reads datagrams into `seen` until `done` holds; returns the last sender.
async fn recv_until(sock: &UdpSocket, seen: &mut Seen, done: impl Fn(&Seen) -> bool) -> SocketAddr {
    let deadline = Instant::now() + DEADLINE;
    let mut buf = vec![0u8; 65_536];
    let mut from = None;
    while from.is_none() || !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let (n, f) = tokio::time::timeout(left, sock.recv_from(&mut buf))
            .await
            .expect("datagrams in time")
            .unwrap();
        from = Some(f);
        seen.feed(&buf[..n]);
    }
    from.unwrap()
}

/// Reads a TCP client's stream into `seen` until `done` holds.
async fn read_until(stream: &mut TcpStream, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    let mut buf = vec![0u8; 4096];
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .expect("stream in time")
            .unwrap();
        assert!(n > 0, "the server closed the stream");
        seen.feed(&buf[..n]);
    }
}

/// Polls `cond` until it holds (generous deadline).
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Over UDP the FC's HEARTBEAT, SYS_STATUS and GPS_RAW_INT arrive as valid
/// MAVLink from the socket `udp_local_addr` names, and a
/// SET_MESSAGE_INTERVAL sent back to that sender is received.
#[tokio::test]
async fn udp_output_is_valid_mavlink_and_takes_commands_back() {
    let dir = Scratch::new("net-udp");
    let sock = UdpSocket::bind(LOOPBACK_ANY).await.unwrap();
    let sim = start(&dir, Some(sock.local_addr().unwrap()), false).await;
    let mut seen = Seen::default();
    let from = recv_until(&sock, &mut seen, Seen::all_kinds).await;
    assert_eq!(from.port(), sim.fc().udp_local_addr().unwrap().port());
    let s = seen.decoder.stats();
    assert_eq!((s.checksum_errors, s.framing_errors), (0, 0));

    let before = sim.fc().stats();
    sock.send_to(&set_message_interval(), from).await.unwrap();
    until("the command", || {
        sim.fc().stats().commands_received > before.commands_received
    })
    .await;
    assert!(sim.fc().stats().bytes_received > before.bytes_received);
    sim.stop().await;
}

/// Two TCP clients both get the stream; one leaving does not disturb the
/// other; commands are read from any client.
#[tokio::test]
async fn tcp_clients_each_get_the_stream_and_come_and_go() {
    let dir = Scratch::new("net-tcp");
    let sim = start(&dir, None, true).await;
    let addr = sim.fc().tcp_listen_addr().unwrap();
    assert_ne!(addr.port(), 0);
    let mut a = TcpStream::connect(addr).await.unwrap();
    let mut b = TcpStream::connect(addr).await.unwrap();
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    read_until(&mut a, &mut sa, Seen::all_kinds).await;
    read_until(&mut b, &mut sb, Seen::all_kinds).await;
    drop(a);
    let more = sb.heartbeats + 2;
    read_until(&mut b, &mut sb, |s| s.heartbeats >= more).await;

    b.write_all(&set_message_interval()).await.unwrap();
    until("the command", || sim.fc().stats().commands_received > 0).await;
    // A client connecting later gets the stream as well.
    let mut c = TcpStream::connect(addr).await.unwrap();
    let mut sc = Seen::default();
    read_until(&mut c, &mut sc, Seen::all_kinds).await;
    sim.stop().await;
}

/// Unplugging closes the TCP clients and stops UDP; replugging serves
/// again at the same address; corruption reaches the network output.
#[tokio::test]
async fn faults_apply_to_the_network_outputs() {
    let dir = Scratch::new("net-faults");
    let sock = UdpSocket::bind(LOOPBACK_ANY).await.unwrap();
    let sim = start(&dir, Some(sock.local_addr().unwrap()), true).await;
    let addr = sim.fc().tcp_listen_addr().unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut seen = Seen::default();
    read_until(&mut client, &mut seen, |s| s.heartbeats > 0).await;

    sim.fc().unplug().await;
    // The client sees the end of the stream (after what was queued).
    let mut buf = vec![0u8; 4096];
    let end = tokio::time::timeout(DEADLINE, async {
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the TCP client was not closed on unplug");
    // Nothing new over UDP while unplugged: drain what was sent before,
    // let cycles pass, and find the socket empty.
    while sock.try_recv(&mut buf).is_ok() {}
    let suppressed = sim.fc().stats().cycles_suppressed;
    until("suppressed cycles", || {
        sim.fc().stats().cycles_suppressed >= suppressed + 5
    })
    .await;
    assert!(
        sock.try_recv(&mut buf).is_err(),
        "UDP output while unplugged"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listening while unplugged"
    );

    sim.fc().replug().await;
    assert_eq!(sim.fc().tcp_listen_addr(), Some(addr));
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut seen = Seen::default();
    read_until(&mut client, &mut seen, Seen::all_kinds).await;
    let mut udp_seen = Seen::default();
    recv_until(&sock, &mut udp_seen, |s| s.heartbeats > 0).await;

    // Bit flips on every message: the UDP receiver's decoder sees bad CRCs.
    assert!(sim.fc().set_fault_rates(FaultRates {
        bit_flip: 1.0,
        ..FaultRates::default()
    }));
    recv_until(&sock, &mut udp_seen, |s| {
        s.decoder.stats().checksum_errors > 3
    })
    .await;
    assert!(sim.fc().fault_stats().bit_flips > 3);
    sim.stop().await;
}
