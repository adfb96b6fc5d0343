//! A real MQTT broker for the MQTT sink's tests: mosquitto, installed with
//! apt-get when missing, started on loopback with a test-chosen config, and
//! a reconnecting subscriber that decodes every payload as one `Frame`.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dronetel_proto::v1::Frame;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use prost::Message;
use rumqttc::{AsyncClient, Broker, Event, MqttOptions, Packet, PublishOptions, QoS};
use tokio::sync::mpsc;

/// How long a broker may take to listen.
const LISTEN: Duration = Duration::from_secs(15);

/// The mosquitto binary, installed through the system's package manager
/// when missing (the tests need a real broker they can stop and restart).
pub fn mosquitto() -> PathBuf {
    let find = || {
        [
            "/usr/sbin/mosquitto",
            "/usr/bin/mosquitto",
            "/usr/local/sbin/mosquitto",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    };
    crate::apt::ensure("mosquitto", || find().is_some());
    find().unwrap()
}

/// A mosquitto on loopback `port` (anonymous, persistent, so a subscriber's
/// session and the frames queued for it survive a restart), with `extra`
/// config lines after it (more listeners). Returns once `port` accepts.
pub fn start_broker(bin: &Path, dir: &Path, port: u16, extra: &str) -> Child {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user root\nper_listener_settings true\npersistence true\npersistence_location {}/\nqueue_qos0_messages true\nmax_queued_messages 100000\nlistener {port} 127.0.0.1\nallow_anonymous true\n{extra}",
            dir.display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("mosquitto.log")).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < LISTEN, "mosquitto did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Stops a broker started by [`start_broker`].
pub fn stop_broker(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
}

/// One message the subscriber received.
#[derive(Debug)]
pub struct Msg {
    /// The topic it was published on.
    pub topic: String,
    /// The retain flag as delivered.
    pub retain: bool,
    /// The payload, decoded as one `Frame`.
    pub frame: Frame,
}

/// A subscriber to `filter` on loopback `port` that reconnects; with a
/// persistent session (`clean = false`) the broker keeps what it missed.
pub fn subscriber(port: u16, id: &str, clean: bool, filter: &str) -> mpsc::UnboundedReceiver<Msg> {
    let mut opts = MqttOptions::new(id, Broker::tcp("127.0.0.1", port));
    opts.set_clean_session(clean);
    opts.set_keep_alive(5);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut el) = AsyncClient::builder(opts).capacity(16).build();
    let (tx, rx) = mpsc::unbounded_channel();
    let filter = filter.to_owned();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.subscribe(&filter, QoS::AtLeastOnce).await.unwrap();
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let frame = Frame::decode(&p.payload[..]).expect("payload is one Frame");
                    let msg = Msg {
                        topic: String::from_utf8_lossy(&p.topic).into_owned(),
                        retain: p.retain,
                        frame,
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    rx
}

/// Returns once `sub` (subscribed to `dronetel/v1/#` on `port`) receives a
/// probe published by another client, so nothing it should see is missed;
/// the probe's topic is `dronetel/v1/probe`.
pub async fn wait_subscribed(port: u16, sub: &mut mpsc::UnboundedReceiver<Msg>) {
    let mut opts = MqttOptions::new("dronetel-test-probe", Broker::tcp("127.0.0.1", port));
    opts.set_keep_alive(5);
    let (client, mut el) = AsyncClient::builder(opts).capacity(16).build();
    let poll = tokio::spawn(async move { while el.poll().await.is_ok() {} });
    let t0 = Instant::now();
    'probe: loop {
        assert!(t0.elapsed() < LISTEN, "the subscriber never subscribed");
        let probe = Frame::default().encode_to_vec();
        let _ = client
            .publish("dronetel/v1/probe", probe, PublishOptions::at_least_once())
            .await;
        let until = Instant::now() + Duration::from_millis(300);
        while let Ok(Some(m)) = tokio::time::timeout_at(until.into(), sub.recv()).await {
            if m.topic == "dronetel/v1/probe" {
                break 'probe;
            }
        }
    }
    poll.abort();
}
