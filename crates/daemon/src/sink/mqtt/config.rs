//! `[mqtt]`: a fleet broker.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Checker, ConfigError, HumanDuration};
use crate::selection::{Kind, Selection};

/// `[mqtt]` as written (its selection keys are read apart).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
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
}

/// `[mqtt]`, checked.
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

    /// Checks `[mqtt]`.
    pub fn validate(
        r: RawMqtt,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        let url = r.url.get_ref();
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else {
            return Err(c.err(&r.url, "must start with mqtt:// or mqtts://"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) if p > 0 => (h, p),
                _ => return Err(c.err(&r.url, "port must be a number from 1 to 65535")),
            },
            None => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(c.err(&r.url, "needs a host"));
        }
        if tls && !cfg!(feature = "tls") {
            return Err(c.err(
                &r.url,
                "mqtts:// needs TLS, and this dronetel was built without the `tls` feature",
            ));
        }
        for v in [&r.ca_file, &r.client_cert, &r.client_key]
            .into_iter()
            .flatten()
        {
            if !tls {
                return Err(c.err(v, "is only used with an mqtts:// url"));
            }
        }
        match (&r.client_cert, &r.client_key) {
            (Some(v), None) => return Err(c.err(v, "needs client_key (its private key) too")),
            (None, Some(v)) => return Err(c.err(v, "needs client_cert (its certificate) too")),
            _ => {}
        }
        let mut qos = Vec::new();
        for (k, q) in &r.qos {
            if *q.get_ref() > 2 {
                return Err(c.err(q, "QoS must be 0, 1 or 2"));
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
            queue: c.count(r.queue.as_ref(), Self::DEFAULT_QUEUE, 1 << 20)?,
            keep_alive: r.keep_alive.map_or(Duration::from_secs(15), |d| d.0),
            qos,
            selection,
        })
    }
}
