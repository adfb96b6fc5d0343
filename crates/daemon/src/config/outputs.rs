//! The output sections besides `[stream]`: `[udp]`, `[record]`, `[mqtt]`,
//! each optional (absent: that sink is off). Validated types, their raw
//! mirrors and the checks live here so the shared files stay small.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use super::raw::HumanDuration;
use super::selection::selection;
use crate::sink::rate::{Kind, Selection};

/// The optional sinks. Default: all off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputsConfig {
    /// `[udp]`: datagrams to a ground station.
    pub udp: Option<UdpConfig>,
    /// `[record]`: MCAP flight recording.
    pub record: Option<RecordConfig>,
    /// `[mqtt]`: frames to a fleet broker.
    pub mqtt: Option<MqttConfig>,
}

/// `[udp]`: one frame per datagram to a unicast or multicast address.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpConfig {
    /// Where datagrams go (a multicast group is joined by receivers).
    pub target: SocketAddr,
    /// Local address to send from (default: any address, any port).
    pub bind: Option<SocketAddr>,
    /// Largest datagram sent; a GPS frame over it loses its sky view.
    pub max_datagram: usize,
    /// Hop limit of multicast datagrams.
    pub multicast_ttl: u32,
    /// Filter and rates.
    pub selection: Selection,
}

impl UdpConfig {
    /// Default `max_datagram`: fits any path MTU of the internet.
    pub const DEFAULT_MAX_DATAGRAM: usize = 1200;
    /// Largest payload of one UDP datagram over IPv4.
    pub const MAX_MAX_DATAGRAM: usize = 65_507;
}

/// `[record]`: MCAP recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    /// Directory of the recordings (created when missing).
    pub dir: PathBuf,
    /// A file is closed and a new one started past this size, bytes.
    pub max_file_size: u64,
    /// ... or past this duration.
    pub max_file_duration: Duration,
    /// Recording stops while the file system has less free space, bytes.
    pub min_free_space: u64,
    /// Frames queued for the writer thread; beyond, frames are dropped (counted).
    pub queue: usize,
    /// How chunks are compressed.
    pub compression: RecordCompression,
    /// Filter and rates.
    pub selection: Selection,
}

/// `[record] compression`: how the chunks of a recording are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordCompression {
    /// Uncompressed chunks.
    None,
    /// zstd (needs the `zstd` cargo feature, on by default): telemetry
    /// shrinks several times for little CPU.
    Zstd,
}

impl RecordConfig {
    /// Default `compression`: zstd when built in.
    pub const DEFAULT_COMPRESSION: RecordCompression = if cfg!(feature = "zstd") {
        RecordCompression::Zstd
    } else {
        RecordCompression::None
    };
    /// Default `max_file_size` (256 MiB).
    pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;
    /// Default `max_file_duration`.
    pub const DEFAULT_MAX_FILE_DURATION: Duration = Duration::from_secs(3600);
    /// Default `min_free_space` (512 MiB).
    pub const DEFAULT_MIN_FREE_SPACE: u64 = 512 << 20;
    /// Default `queue`.
    pub const DEFAULT_QUEUE: usize = 4096;
}

/// `[mqtt]`: a fleet broker.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// `mqtts://`: TLS (needs the `tls` cargo feature, on by default).
    pub tls: bool,
    /// MQTT client id (default `dronetel-<vehicle_id>`).
    pub client_id: Option<String>,
    /// User name (or `DRONETEL_MQTT_USERNAME`).
    pub username: Option<String>,
    /// File holding the password (or `DRONETEL_MQTT_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// CA certificates (PEM) that sign the broker's certificate, for
    /// `mqtts://`; without it the system's trust store is used.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for brokers that authenticate
    /// devices by certificate (AWS IoT, mosquitto `require_certificate`).
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
    /// Frames kept while the broker is unreachable; the oldest go first.
    pub queue: usize,
    /// Keep-alive interval.
    pub keep_alive: Duration,
    /// QoS of each kind (0, 1 or 2).
    pub qos: Vec<(Kind, u8)>,
    /// Filter and rates.
    pub selection: Selection,
}

impl MqttConfig {
    /// Default `queue`.
    pub const DEFAULT_QUEUE: usize = 10_000;
    /// QoS of a kind when the file does not set it: 0 for the high-rate
    /// kinds, 1 for battery and health.
    pub fn default_qos(kind: Kind) -> u8 {
        match kind {
            Kind::Gps | Kind::Tracking => 0,
            Kind::Battery | Kind::Health | Kind::Vehicle => 1,
        }
    }

    /// The QoS frames of `kind` are published with.
    pub fn qos_of(&self, kind: Kind) -> u8 {
        self.qos
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(|| Self::default_qos(kind), |(_, q)| *q)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUdp {
    target: Spanned<SocketAddr>,
    bind: Option<SocketAddr>,
    max_datagram: Option<Spanned<usize>>,
    multicast_ttl: Option<u32>,
    #[serde(default)]
    sensors: Vec<String>,
    #[serde(default)]
    kinds: Vec<Kind>,
    #[serde(default)]
    max_rate: BTreeMap<Kind, Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecord {
    dir: Spanned<PathBuf>,
    max_file_size: Option<Spanned<u64>>,
    max_file_duration: Option<Spanned<HumanDuration>>,
    min_free_space: Option<u64>,
    queue: Option<Spanned<usize>>,
    compression: Option<Spanned<RecordCompression>>,
    #[serde(default)]
    sensors: Vec<String>,
    #[serde(default)]
    kinds: Vec<Kind>,
    #[serde(default)]
    max_rate: BTreeMap<Kind, Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMqtt {
    url: Spanned<String>,
    client_id: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<Spanned<PathBuf>>,
    client_cert: Option<Spanned<PathBuf>>,
    client_key: Option<Spanned<PathBuf>>,
    queue: Option<Spanned<usize>>,
    keep_alive: Option<HumanDuration>,
    #[serde(default)]
    qos: BTreeMap<Kind, Spanned<u8>>,
    #[serde(default)]
    sensors: Vec<String>,
    #[serde(default)]
    kinds: Vec<Kind>,
    #[serde(default)]
    max_rate: BTreeMap<Kind, Spanned<f64>>,
}

/// Location of errors.
pub(crate) struct Src<'a> {
    pub(crate) path: &'a Path,
    pub(crate) src: &'a str,
}

impl Src<'_> {
    fn err<T>(&self, v: &Spanned<T>, key: &str, msg: &str) -> ConfigError {
        ConfigError::at(self.path, self.src, Some(v.span()), Some(key), msg)
    }

    fn count(
        &self,
        v: Option<&Spanned<usize>>,
        key: &str,
        default: usize,
        max: usize,
    ) -> Result<usize, ConfigError> {
        match v {
            None => Ok(default),
            Some(x) if (1..=max).contains(x.get_ref()) => Ok(*x.get_ref()),
            Some(x) => Err(self.err(x, key, &format!("must be between 1 and {max}"))),
        }
    }
}

pub(crate) fn udp(s: &Src<'_>, r: &RawUdp) -> Result<UdpConfig, ConfigError> {
    let max_datagram = s.count(
        r.max_datagram.as_ref(),
        "max_datagram",
        UdpConfig::DEFAULT_MAX_DATAGRAM,
        UdpConfig::MAX_MAX_DATAGRAM,
    )?;
    if max_datagram < 64 {
        let v = r.max_datagram.as_ref().expect("set when under the default");
        return Err(s.err(v, "max_datagram", "must be at least 64"));
    }
    let target = *r.target.get_ref();
    if target.port() == 0 {
        return Err(s.err(&r.target, "target", "needs a port"));
    }
    Ok(UdpConfig {
        target,
        bind: r.bind,
        max_datagram,
        multicast_ttl: r.multicast_ttl.unwrap_or(1),
        selection: selection(&r.sensors, &r.kinds, &r.max_rate, s.path, s.src)?,
    })
}

pub(crate) fn record(s: &Src<'_>, r: &RawRecord) -> Result<RecordConfig, ConfigError> {
    if r.dir.get_ref().as_os_str().is_empty() {
        return Err(s.err(&r.dir, "dir", "must not be empty"));
    }
    let max_file_size = match &r.max_file_size {
        None => RecordConfig::DEFAULT_MAX_FILE_SIZE,
        Some(v) if *v.get_ref() >= 64 * 1024 => *v.get_ref(),
        Some(v) => return Err(s.err(v, "max_file_size", "must be at least 65536 bytes")),
    };
    let max_file_duration = match &r.max_file_duration {
        None => RecordConfig::DEFAULT_MAX_FILE_DURATION,
        Some(v) if v.get_ref().0 >= Duration::from_secs(1) => v.get_ref().0,
        Some(v) => return Err(s.err(v, "max_file_duration", "must be at least 1s")),
    };
    let compression = match &r.compression {
        None => RecordConfig::DEFAULT_COMPRESSION,
        Some(v) if *v.get_ref() == RecordCompression::Zstd && !cfg!(feature = "zstd") => {
            return Err(s.err(
                v,
                "compression",
                "zstd needs the `zstd` feature, and this dronetel was built without it",
            ))
        }
        Some(v) => *v.get_ref(),
    };
    Ok(RecordConfig {
        dir: r.dir.get_ref().clone(),
        max_file_size,
        max_file_duration,
        min_free_space: r
            .min_free_space
            .unwrap_or(RecordConfig::DEFAULT_MIN_FREE_SPACE),
        queue: s.count(
            r.queue.as_ref(),
            "queue",
            RecordConfig::DEFAULT_QUEUE,
            1 << 20,
        )?,
        compression,
        selection: selection(&r.sensors, &r.kinds, &r.max_rate, s.path, s.src)?,
    })
}

pub(crate) fn mqtt(s: &Src<'_>, r: &RawMqtt) -> Result<MqttConfig, ConfigError> {
    let url = r.url.get_ref();
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else {
        return Err(s.err(&r.url, "url", "must start with mqtt:// or mqtts://"));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) if p > 0 => (h, p),
            _ => return Err(s.err(&r.url, "url", "port must be a number from 1 to 65535")),
        },
        None => (rest, if tls { 8883 } else { 1883 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(s.err(&r.url, "url", "needs a host"));
    }
    if tls && !cfg!(feature = "tls") {
        return Err(s.err(
            &r.url,
            "url",
            "mqtts:// needs TLS, and this dronetel was built without the `tls` feature",
        ));
    }
    for (v, key) in [
        (&r.ca_file, "ca_file"),
        (&r.client_cert, "client_cert"),
        (&r.client_key, "client_key"),
    ] {
        if let (Some(v), false) = (v, tls) {
            return Err(s.err(v, key, "is only used with an mqtts:// url"));
        }
    }
    match (&r.client_cert, &r.client_key) {
        (Some(v), None) => {
            return Err(s.err(v, "client_cert", "needs client_key (its private key) too"))
        }
        (None, Some(v)) => {
            return Err(s.err(v, "client_key", "needs client_cert (its certificate) too"))
        }
        _ => {}
    }
    let mut qos = Vec::new();
    for (k, q) in &r.qos {
        if *q.get_ref() > 2 {
            return Err(s.err(q, k.as_str(), "QoS must be 0, 1 or 2"));
        }
        qos.push((*k, *q.get_ref()));
    }
    Ok(MqttConfig {
        host: host.to_owned(),
        port,
        tls,
        client_id: r.client_id.clone(),
        username: r.username.clone(),
        password_file: r.password_file.clone(),
        ca_file: r.ca_file.as_ref().map(|p| p.get_ref().clone()),
        client_cert: r.client_cert.as_ref().map(|p| p.get_ref().clone()),
        client_key: r.client_key.as_ref().map(|p| p.get_ref().clone()),
        queue: s.count(
            r.queue.as_ref(),
            "queue",
            MqttConfig::DEFAULT_QUEUE,
            1 << 20,
        )?,
        keep_alive: r.keep_alive.map_or(Duration::from_secs(15), |d| d.0),
        qos,
        selection: selection(&r.sensors, &r.kinds, &r.max_rate, s.path, s.src)?,
    })
}
