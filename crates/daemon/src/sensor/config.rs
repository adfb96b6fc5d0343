//! `[[sensor]]`: one sensor, its transport, its protocol and the
//! protocol's options. The keys every sensor has are read here; the other
//! keys of the table go to the protocol it names.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::kind::SensorKind;
use super::protocol::{self, ProtocolConfig, PROTOCOLS};
use super::transport::TransportConfig;
use crate::config::{Checker, ConfigError, HumanDuration};

/// The keys every `[[sensor]]` has, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSensor {
    name: Spanned<String>,
    kind: Spanned<SensorKind>,
    protocol: Spanned<String>,
    path: Spanned<String>,
    baud: Option<Spanned<u32>>,
    allow_from: Option<Spanned<Vec<IpAddr>>>,
    stale_after: Option<Spanned<HumanDuration>>,
}

impl RawSensor {
    /// The fields of [`RawSensor`] (a test checks they agree): the rest of
    /// a sensor's table belongs to its protocol.
    pub const KEYS: [&'static str; 7] = [
        "name",
        "kind",
        "protocol",
        "path",
        "baud",
        "allow_from",
        "stale_after",
    ];
}

/// One `[[sensor]]`: a device and how to decode it.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorConfig {
    /// Unique name; becomes `Frame.sensor` and the `sensor` log field.
    pub name: String,
    /// What the device is.
    pub kind: SensorKind,
    /// Wire protocol and its options.
    pub protocol: ProtocolConfig,
    /// Where the bytes come from.
    pub transport: TransportConfig,
    /// Silence after which the sensor is reported STALE.
    pub stale_after: Duration,
}

impl SensorConfig {
    /// Default `stale_after`.
    pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(2);

    /// Reads and checks one `[[sensor]]` table.
    pub fn parse(
        item: Spanned<DeValue<'_>>,
        c: &Checker<'_>,
    ) -> Result<(Self, Spanned<String>), ConfigError> {
        let span = item.span();
        let DeValue::Table(table) = item.into_inner() else {
            return Err(c.err_at(span, "must be a table ([[sensor]])"));
        };
        let mut common = DeTable::new();
        let mut options = Vec::new();
        for (key, value) in table {
            if RawSensor::KEYS.contains(&key.get_ref().as_ref()) {
                common.insert(key, value);
            } else {
                options.push((key, value));
            }
        }
        let raw: RawSensor = c.parse(Spanned::new(span.clone(), DeValue::Table(common)))?;
        let name = raw.name.get_ref();
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        {
            return Err(c.err(
                &raw.name,
                "must be non-empty and use only letters, digits, '-', '_' and '.'",
            ));
        }
        let kind = *raw.kind.get_ref();
        let wanted = raw.protocol.get_ref().as_str();
        let Some(entry) = protocol::find(wanted) else {
            let known: Vec<&str> = PROTOCOLS.iter().map(|p| p.name()).collect();
            return Err(c.err(
                &raw.protocol,
                &format!(
                    "unknown protocol `{wanted}`, expected one of {}",
                    known.join(", ")
                ),
            ));
        };
        if !entry.kinds().contains(&kind) {
            let speaking: Vec<&str> = PROTOCOLS
                .iter()
                .filter(|p| p.kinds().contains(&kind))
                .map(|p| p.name())
                .collect();
            return Err(c.err(
                &raw.protocol,
                &format!(
                    "kind `{kind}` speaks protocol {}, not `{wanted}`",
                    speaking.join(" or ")
                ),
            ));
        }
        let mut own = DeTable::new();
        for (key, value) in options {
            let k: &str = key.get_ref().as_ref();
            if !entry.option_keys().contains(&k) {
                let owners: Vec<String> = PROTOCOLS
                    .iter()
                    .filter(|p| p.option_keys().contains(&k))
                    .map(|p| format!("`{}`", p.name()))
                    .collect();
                let message = match owners.as_slice() {
                    [one] => format!("`{k}` applies to protocol {one} only, not `{wanted}`"),
                    [_, ..] => format!(
                        "`{k}` applies to protocols {} only, not `{wanted}`",
                        owners.join(" and ")
                    ),
                    [] => {
                        let mut keys: Vec<&str> = RawSensor::KEYS.to_vec();
                        keys.extend(entry.option_keys());
                        format!("unknown field `{k}`, expected one of {}", keys.join(", "))
                    }
                };
                return Err(c.err_at(key.span(), &message));
            }
            own.insert(key, value);
        }
        let options = entry.configure(Spanned::new(span, DeValue::Table(own)), c)?;
        let transport =
            TransportConfig::parse(&raw.path, raw.baud.as_ref(), raw.allow_from.as_ref(), c)?;
        let config = SensorConfig {
            name: name.clone(),
            kind,
            protocol: ProtocolConfig::from_entry(entry, options),
            transport,
            stale_after: c.duration(raw.stale_after.as_ref(), Self::DEFAULT_STALE_AFTER)?,
        };
        Ok((config, raw.name))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_the_fields() {
        // serde lists the struct's fields in its unknown-field error.
        let e = toml::from_str::<RawSensor>("other = 1").unwrap_err();
        assert_eq!(crate::config::listed_fields(e.message()), RawSensor::KEYS);
    }
}
