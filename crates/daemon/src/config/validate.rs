//! Semantic checks of a parsed configuration: the raw file becomes a
//! [`Config`] with defaults applied, or a [`ConfigError`] pointing at the
//! offending value.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::error::ConfigError;
use super::outputs::OutputsConfig;
use super::protocol::{MavlinkConfig, TrackerConfig};
use super::raw::{HumanDuration, RawConfig, RawProtocol, RawSensor, RawStream};
use super::types::{
    Config, DaemonConfig, NmeaConfig, ProtocolConfig, SensorConfig, SensorKind, StreamConfig,
};

/// Longest duration accepted for any setting.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Builds errors pointing into one source file.
struct Checker<'a> {
    src: &'a str,
    path: &'a Path,
}

impl Checker<'_> {
    fn err<T>(&self, value: &Spanned<T>, key: &str, message: &str) -> ConfigError {
        ConfigError::at(self.path, self.src, Some(value.span()), Some(key), message)
    }

    /// A duration in `(0, 1 day]`, or the default when absent. The cap keeps
    /// deadline arithmetic far from overflow.
    fn duration(
        &self,
        value: Option<&Spanned<HumanDuration>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if v.get_ref().0.is_zero() => Err(self.err(v, key, "must be greater than 0")),
            Some(v) if v.get_ref().0 > MAX_DURATION => {
                Err(self.err(v, key, "must be at most 1day"))
            }
            Some(v) => Ok(v.get_ref().0),
        }
    }

    /// A count in `1..=max`, or the default when absent.
    fn count(
        &self,
        value: Option<&Spanned<usize>>,
        key: &str,
        default: usize,
        max: usize,
    ) -> Result<usize, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if !(1..=max).contains(v.get_ref()) => {
                Err(self.err(v, key, &format!("must be between 1 and {max}")))
            }
            Some(v) => Ok(*v.get_ref()),
        }
    }
}

pub(crate) fn validate(raw: RawConfig, src: &str, path: &Path) -> Result<Config, ConfigError> {
    let c = Checker { src, path };

    let vehicle_id = raw.daemon.vehicle_id.get_ref().trim().to_owned();
    if vehicle_id.is_empty() {
        return Err(c.err(&raw.daemon.vehicle_id, "vehicle_id", "must not be empty"));
    }
    let daemon = DaemonConfig {
        vehicle_id,
        shutdown_grace: c.duration(
            raw.daemon.shutdown_grace.as_ref(),
            "shutdown_grace",
            DaemonConfig::DEFAULT_SHUTDOWN_GRACE,
        )?,
        health_interval: c.duration(
            raw.daemon.health_interval.as_ref(),
            "health_interval",
            DaemonConfig::DEFAULT_HEALTH_INTERVAL,
        )?,
    };

    if raw.sensor.is_empty() {
        return Err(ConfigError::at(
            path,
            src,
            None,
            Some("sensor"),
            "at least one [[sensor]] is required",
        ));
    }
    let mut sensors: Vec<(SensorConfig, &Spanned<String>)> = Vec::new();
    for s in &raw.sensor {
        let s = s.get_ref();
        let sensor = sensor(&c, s)?;
        if let Some((_, first)) = sensors.iter().find(|(o, _)| o.name == sensor.name) {
            let line = line_of(src, first.span().start);
            return Err(c.err(
                &s.name,
                "name",
                &format!(
                    "duplicate sensor name `{}` (first used on line {line})",
                    sensor.name
                ),
            ));
        }
        sensors.push((sensor, &s.name));
    }

    Ok(Config {
        daemon,
        sensors: sensors.into_iter().map(|(s, _)| s).collect(),
        stream: match &raw.stream {
            Some(s) => stream(&c, s)?,
            None => StreamConfig::default(),
        },
        outputs: outputs(&raw, src, path)?,
        metrics: raw.metrics.as_ref().map(|m| m.validate()),
    })
}

/// 1-based line of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    let offset = offset.min(src.len());
    src.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn sensor(c: &Checker<'_>, s: &RawSensor) -> Result<SensorConfig, ConfigError> {
    let name = s.name.get_ref();
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        return Err(c.err(
            &s.name,
            "name",
            "must be non-empty and use only letters, digits, '-', '_' and '.'",
        ));
    }
    let kind = *s.kind.get_ref();
    let protocol = *s.protocol.get_ref();
    let expected = match kind {
        SensorKind::Gps => RawProtocol::Nmea,
        SensorKind::FlightController => RawProtocol::Mavlink,
        SensorKind::Tracking => RawProtocol::Tracker,
    };
    if protocol != expected {
        return Err(c.err(
            &s.protocol,
            "protocol",
            &format!(
                "kind `{kind}` speaks protocol `{}`, not `{}`",
                proto_name(expected),
                proto_name(protocol)
            ),
        ));
    }
    if s.path.get_ref().as_os_str().is_empty() {
        return Err(c.err(&s.path, "path", "must not be empty"));
    }
    if *s.baud.get_ref() == 0 {
        return Err(c.err(&s.baud, "baud", "must be greater than 0"));
    }
    let protocol = protocol_options(c, s, protocol)?;
    Ok(SensorConfig {
        name: name.clone(),
        kind,
        protocol,
        path: s.path.get_ref().clone(),
        baud: *s.baud.get_ref(),
        stale_after: c.duration(
            s.stale_after.as_ref(),
            "stale_after",
            SensorConfig::DEFAULT_STALE_AFTER,
        )?,
    })
}

/// The protocol's options; an option of another protocol is an error.
fn protocol_options(
    c: &Checker<'_>,
    s: &RawSensor,
    protocol: RawProtocol,
) -> Result<ProtocolConfig, ConfigError> {
    let only = |present: bool, key: &str, span: std::ops::Range<usize>, owner: RawProtocol| {
        if present && protocol != owner {
            return Err(ConfigError::at(
                c.path,
                c.src,
                Some(span),
                Some(key),
                &format!(
                    "`{key}` applies to protocol `{}` only, not `{}`",
                    proto_name(owner),
                    proto_name(protocol)
                ),
            ));
        }
        Ok(())
    };
    let span = |v: Option<std::ops::Range<usize>>| v.unwrap_or(0..0);
    only(
        s.require_checksum.is_some(),
        "require_checksum",
        span(s.require_checksum.as_ref().map(|v| v.span())),
        RawProtocol::Nmea,
    )?;
    only(
        s.idle_gap.is_some(),
        "idle_gap",
        span(s.idle_gap.as_ref().map(|v| v.span())),
        RawProtocol::Nmea,
    )?;
    only(
        s.request_message_rates.is_some(),
        "request_message_rates",
        span(s.request_message_rates.as_ref().map(|v| v.span())),
        RawProtocol::Mavlink,
    )?;
    Ok(match protocol {
        RawProtocol::Nmea => {
            let idle_gap = match &s.idle_gap {
                None => None,
                Some(v) => Some(c.duration(Some(v), "idle_gap", Duration::ZERO)?),
            };
            ProtocolConfig::Nmea(NmeaConfig {
                require_checksum: s.require_checksum.as_ref().is_none_or(|v| *v.get_ref()),
                idle_gap,
            })
        }
        RawProtocol::Mavlink => ProtocolConfig::Mavlink(MavlinkConfig {
            request_message_rates: s
                .request_message_rates
                .as_ref()
                .is_some_and(|v| *v.get_ref()),
        }),
        RawProtocol::Tracker => ProtocolConfig::Tracker(TrackerConfig::default()),
    })
}

fn proto_name(p: RawProtocol) -> &'static str {
    match p {
        RawProtocol::Nmea => "nmea",
        RawProtocol::Mavlink => "mavlink",
        RawProtocol::Tracker => "tracker",
    }
}

fn stream(c: &Checker<'_>, s: &RawStream) -> Result<StreamConfig, ConfigError> {
    if s.tcp.is_none() && s.unix.is_none() {
        return Err(ConfigError::at(
            c.path,
            c.src,
            c.src.find("[stream]").map(|i| i..i),
            None,
            "set at least one of `tcp` and `unix`",
        ));
    }
    if let Some(u) = &s.unix {
        if u.get_ref().as_os_str().is_empty() {
            return Err(c.err(u, "unix", "must not be empty"));
        }
    }
    Ok(StreamConfig {
        tcp: s.tcp.as_ref().map(|t| *t.get_ref()),
        unix: s.unix.as_ref().map(|u| u.get_ref().clone()),
        max_clients: c.count(
            s.max_clients.as_ref(),
            "max_clients",
            StreamConfig::DEFAULT_MAX_CLIENTS,
            StreamConfig::MAX_MAX_CLIENTS,
        )?,
        client_queue: c.count(
            s.client_queue.as_ref(),
            "client_queue",
            StreamConfig::DEFAULT_CLIENT_QUEUE,
            StreamConfig::MAX_CLIENT_QUEUE,
        )?,
        max_client_drops: s
            .max_client_drops
            .unwrap_or(StreamConfig::DEFAULT_MAX_CLIENT_DROPS),
        write_timeout: c.duration(
            s.write_timeout.as_ref(),
            "write_timeout",
            StreamConfig::DEFAULT_WRITE_TIMEOUT,
        )?,
    })
}

fn outputs(raw: &RawConfig, src: &str, path: &Path) -> Result<OutputsConfig, ConfigError> {
    let s = super::outputs::Src { path, src };
    Ok(OutputsConfig {
        udp: raw
            .udp
            .as_ref()
            .map(|r| super::outputs::udp(&s, r))
            .transpose()?,
        record: raw
            .record
            .as_ref()
            .map(|r| super::outputs::record(&s, r))
            .transpose()?,
        mqtt: raw
            .mqtt
            .as_ref()
            .map(|r| super::outputs::mqtt(&s, r))
            .transpose()?,
    })
}
