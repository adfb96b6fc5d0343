//! The MQTT sink: frames to a fleet broker on `dronetel/<vehicle>/<sensor>/<kind>`,
//! payload one encoded `Frame` (no length prefix), QoS per kind. Health is
//! retained (a new subscriber learns each sensor's last state at once); the
//! vehicle's `dronetel/<vehicle>/status` is a retained health frame, ONLINE
//! on connect and DISCONNECTED "offline" as the last will and on shutdown.
//!
//! While the broker is unreachable frames wait in a bounded queue (oldest
//! dropped first, counted, logged once per state change); the connection
//! task reconnects with capped backoff. Nothing here waits on the bus.
//!
//! # Layout
//! - [`config`]: the `[mqtt]` section.
//! - [`error`]: why it could not start.
//! - `conn`: the connection task (rumqttc event loop, backoff, state).
//! - `tls`: the rustls client configuration for `mqtts://` (feature `tls`).

pub mod config;
mod conn;
pub mod error;
#[cfg(feature = "tls")]
mod tls;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use dronetel_proto::v1::{frame::Body, Frame, SensorHealth, SensorState};
use prost::Message;
use rumqttc::{AsyncClient, Broker, LastWill, MqttOptions, PublishOptions, QoS};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::bus::Received;
use crate::config::{Checker, ConfigError};
use crate::selection::{Kind, Selection};
use crate::sink::contract::{Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::frames::SinkFrames;
use crate::sink::payload::frame_bytes;
use crate::sink::stats::SinkStats;
pub use config::{MqttConfig, RawMqtt};
pub use error::MqttError;

/// Requests the client's channel holds beyond our own queue.
const CLIENT_CAP: usize = 64;
/// How long shutdown waits for queued frames to reach a connected broker.
const DRAIN: Duration = Duration::from_secs(1);

/// One message waiting for the broker.
struct Pending {
    topic: String,
    qos: QoS,
    retain: bool,
    payload: Bytes,
}

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// MQTT's keep-alive is whole seconds: a fraction rounds up (so "500ms"
/// does not become 0, which turns keep-alive off), and it saturates at
/// the protocol's maximum.
fn keep_alive_secs(d: Duration) -> u16 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    u16::try_from(secs).unwrap_or(u16::MAX)
}

/// The retained vehicle status frame (`online` or the last-will `offline`).
fn status_frame(online: bool) -> Vec<u8> {
    Frame {
        seq: 0,
        sensor: String::new(),
        received_at: Some(dronetel_proto::time::timestamp(SystemTime::now())),
        body: Some(Body::Health(SensorHealth {
            state: if online {
                SensorState::Online
            } else {
                SensorState::Disconnected
            } as i32,
            last_error: if online {
                String::new()
            } else {
                "offline".into()
            },
            ..Default::default()
        })),
    }
    .encode_to_vec()
}

/// The topic of the vehicle's status.
pub fn status_topic(vehicle: &str) -> String {
    format!("dronetel/{vehicle}/status")
}

/// The MQTT sink.
#[derive(Debug)]
pub struct MqttSink;

impl Sink for MqttSink {
    const NAME: &'static str = "mqtt";
    const NAMED_AFTER_VEHICLE: bool = true;
    type Raw = RawMqtt;
    type Config = MqttConfig;

    fn validate(
        raw: RawMqtt,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<MqttConfig, ConfigError> {
        MqttConfig::validate(raw, selection, c)
    }

    /// Starts the `mqtt` and `mqtt connection` tasks. They end once the bus
    /// has closed (or the sink is stopped) and the queue had its moment to
    /// drain.
    async fn start(config: &MqttConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        start(config, cx).map_err(|e| SinkError::new::<Self>(e.key(), e))
    }
}

fn start(config: &MqttConfig, cx: SinkContext) -> Result<SinkHandle, MqttError> {
    let vehicle = cx.vehicle_id().to_owned();
    let vehicle = vehicle.as_str();
    let client_id = config
        .client_id
        .clone()
        .unwrap_or_else(|| format!("dronetel-{vehicle}"));
    let mut opts = MqttOptions::new(client_id, Broker::tcp(config.host.clone(), config.port));
    opts.set_keep_alive(keep_alive_secs(config.keep_alive));
    opts.set_clean_session(true);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    opts.set_last_will(LastWill::new(
        status_topic(vehicle),
        status_frame(false),
        QoS::AtLeastOnce,
        true,
    ));
    let username = config
        .username
        .clone()
        .or_else(|| std::env::var("DRONETEL_MQTT_USERNAME").ok());
    let password = match &config.password_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|source| MqttError::Password {
                    path: p.clone(),
                    source,
                })?
                .trim_end()
                .to_owned(),
        ),
        None => std::env::var("DRONETEL_MQTT_PASSWORD").ok(),
    };
    #[cfg(feature = "tls")]
    if config.tls {
        opts.set_transport(tls::transport(config)?);
    }
    if let Some(u) = username {
        opts.set_credentials(u, password.unwrap_or_default());
    }
    let (client, eventloop) = AsyncClient::builder(opts).capacity(CLIENT_CAP).build();
    let (state_tx, state_rx) = watch::channel(false);
    let stop = CancellationToken::new();
    let broker = format!("{}:{}", config.host, config.port);
    let conn_task = cx.spawn(
        "mqtt connection",
        conn::run(eventloop, state_tx, stop.clone(), broker.clone()),
    );
    let stats = cx.stats().clone();
    let frames = cx.frames(&config.selection);
    let publisher = Publisher {
        client,
        config: config.clone(),
        vehicle: vehicle.to_owned(),
        queue: VecDeque::new(),
        stats: stats.clone(),
        full: false,
    };
    tracing::info!(broker = %broker, "mqtt sink started");
    cx.spawn("mqtt", async move {
        publisher.run(frames, state_rx).await;
        stop.cancel();
        let _ = conn_task.await;
    });
    Ok(cx.into_handle(Vec::new()))
}

struct Publisher {
    client: AsyncClient,
    config: MqttConfig,
    vehicle: String,
    queue: VecDeque<Pending>,
    stats: Arc<SinkStats>,
    /// The queue is at its bound (for one log line per state change).
    full: bool,
}

impl Publisher {
    async fn run(mut self, mut frames: SinkFrames, mut connected: watch::Receiver<bool>) {
        let mut retry = tokio::time::interval(Duration::from_millis(50));
        let mut was_connected = false;
        loop {
            tokio::select! {
                r = frames.recv() => match r {
                    Received::Frame(p) => {
                        self.enqueue(&p);
                    }
                    Received::Closed => break,
                },
                r = connected.changed() => if r.is_err() { break },
                _ = retry.tick(), if !self.queue.is_empty() => {}
            }
            let now = *connected.borrow();
            if now && !was_connected {
                let _ = self.client.try_publish(
                    status_topic(&self.vehicle),
                    status_frame(true),
                    PublishOptions::at_least_once().retained(),
                );
            }
            was_connected = now;
            if now {
                self.drain();
            }
        }
        // Shutdown: give queued frames a moment, then say goodbye.
        let deadline = tokio::time::Instant::now() + DRAIN;
        while !self.queue.is_empty()
            && *connected.borrow()
            && tokio::time::Instant::now() < deadline
        {
            self.drain();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if !self.queue.is_empty() {
            SinkStats::add(&self.stats.dropped, self.queue.len() as u64);
        }
        let _ = self.client.try_publish(
            status_topic(&self.vehicle),
            status_frame(false),
            PublishOptions::at_least_once().retained(),
        );
        let _ = self.client.try_disconnect();
        // The connection task sends both, then ends (or is stopped).
        let _ = tokio::time::timeout(DRAIN, async {
            while connected.changed().await.is_ok() && *connected.borrow() {}
        })
        .await;
        tracing::info!(
            sent = SinkStats::get(&self.stats.sent),
            dropped = SinkStats::get(&self.stats.dropped),
            "mqtt sink stopped"
        );
    }

    fn enqueue(&mut self, p: &crate::bus::Published) {
        let Some(kind) = Kind::of(p.frame()) else {
            return;
        };
        if self.queue.len() >= self.config.queue {
            self.queue.pop_front();
            SinkStats::add(&self.stats.dropped, 1);
            if !std::mem::replace(&mut self.full, true) {
                tracing::warn!(
                    bound = self.config.queue,
                    "mqtt queue full: dropping the oldest frames"
                );
            }
        } else if self.full && self.queue.len() < self.config.queue / 2 {
            self.full = false;
            tracing::info!(
                dropped = SinkStats::get(&self.stats.dropped),
                "mqtt queue below its bound again"
            );
        }
        self.queue.push_back(Pending {
            topic: format!("dronetel/{}/{}/{kind}", self.vehicle, p.frame().sensor),
            qos: qos(self.config.qos_of(kind)),
            retain: kind == Kind::Health,
            payload: frame_bytes(p),
        });
    }

    /// Hands queued frames to the client until its channel is full.
    fn drain(&mut self) {
        while let Some(m) = self.queue.front() {
            let r = self.client.try_publish(
                m.topic.as_str(),
                m.payload.clone(),
                PublishOptions::new(m.qos).retain(m.retain),
            );
            if r.is_err() {
                break;
            }
            SinkStats::add(&self.stats.bytes, m.payload.len() as u64);
            self.queue.pop_front();
            SinkStats::add(&self.stats.sent, 1);
        }
        if self.full && self.queue.len() < self.config.queue / 2 {
            self.full = false;
            tracing::info!(
                dropped = SinkStats::get(&self.stats.dropped),
                "mqtt queue below its bound again"
            );
        }
    }
}
