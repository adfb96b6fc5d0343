//! The whole configuration file: `[daemon]`, the `[[sensor]]`s and one
//! section per registered sink, read into a [`Config`] or refused with a
//! [`ConfigError`] naming `FILE:LINE:COLUMN` and the key (exit 78).
//!
//! The file is parsed once into the TOML parser's document, whose spans
//! locate every key; each section is handed to the component that owns it
//! (`sensor::config`, each sink's `config.rs` through the sink registry).
//! A top-level key no component owns is an error.

use std::path::Path;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::config::{Checker, ConfigError, DaemonConfig, KeyIndex, Location, RawDaemon};
use crate::sensor::SensorConfig;
use crate::sink::registry::{SinksConfig, SINKS};
use crate::sink::Sink;

/// The whole daemon configuration (one TOML file).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[daemon]`: identity and process-wide timings.
    pub daemon: DaemonConfig,
    /// `[[sensor]]`: the devices to read, in file order.
    pub sensors: Vec<SensorConfig>,
    /// One section per sink that is on (`[stream]` is on without one).
    pub sinks: SinksConfig,
    /// Where each key was written, for errors found after loading.
    keys: Option<Arc<KeyIndex>>,
}

impl Config {
    /// Reads and validates the configuration file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&src, path)
    }

    /// Parses and validates configuration text; `path` only names the source
    /// in errors.
    pub fn parse(src: &str, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let (doc, errors) = DeTable::parse_recoverable(src);
        let keys = KeyIndex::new(path.as_ref(), src, doc.get_ref());
        let c = Checker::new(&keys);
        if let Some(e) = errors.first() {
            return Err(c.err_at(e.span().unwrap_or(0..0), e.message()));
        }
        let mut daemon = None;
        let mut sensors = Vec::new();
        let mut sections = Vec::new();
        for (key, value) in doc.into_inner() {
            let name: &str = key.get_ref().as_ref();
            match name {
                "daemon" => daemon = Some(c.parse::<RawDaemon>(value)?),
                "sensor" => sensors = sensor_tables(value, &c)?,
                _ if SINKS.iter().any(|s| s.name() == name) => {
                    sections.push((Spanned::new(key.span(), name.to_owned()), value));
                }
                _ => {
                    let mut known = vec!["daemon", "sensor"];
                    known.extend(SINKS.iter().map(|s| s.name()));
                    return Err(c.err_at(
                        key.span(),
                        &format!(
                            "unknown section `{name}`, expected one of {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        let Some(daemon) = daemon else {
            return Err(c.err_key("daemon", "missing field `daemon`"));
        };
        let daemon = DaemonConfig::validate(&daemon, &c)?;
        if sensors.is_empty() {
            return Err(c.err_key("sensor", "at least one [[sensor]] is required"));
        }
        let mut checked: Vec<(SensorConfig, Spanned<String>)> = Vec::new();
        for table in sensors {
            let (sensor, name) = SensorConfig::parse(table, &c)?;
            if let Some((_, first)) = checked.iter().find(|(o, _)| o.name == sensor.name) {
                let line = keys.locate(first.span().start, None).line;
                return Err(c.err(
                    &name,
                    &format!(
                        "duplicate sensor name `{}` (first used on line {line})",
                        sensor.name
                    ),
                ));
            }
            if let Some((other, first)) = checked
                .iter()
                .find(|(o, _)| o.transport.shares_with(&sensor.transport))
            {
                let line = keys.locate(first.span().start, None).line;
                return Err(c.err_key(
                    &format!("sensor[{}].path", checked.len()),
                    &format!(
                        "{} is already read by sensor `{}` (line {line}): two sensors cannot share one device",
                        sensor.transport.device(),
                        other.name
                    ),
                ));
            }
            checked.push((sensor, name));
        }
        let sinks = SinksConfig::configure(&mut sections, &c)?;
        Ok(Config {
            daemon,
            sensors: checked.into_iter().map(|(s, _)| s).collect(),
            sinks,
            keys: Some(Arc::new(keys)),
        })
    }

    /// A configuration built in code (tests, `demo`): no file behind it.
    pub fn new(daemon: DaemonConfig, sensors: Vec<SensorConfig>, sinks: SinksConfig) -> Self {
        Self {
            daemon,
            sensors,
            sinks,
            keys: None,
        }
    }

    /// The configuration of sink `S`, when it is on.
    pub fn sink<S: Sink>(&self) -> Option<&S::Config> {
        self.sinks.get::<S>()
    }

    /// Where the dotted key `path` was written (or its table, or the top
    /// of the file); `None` for a configuration built in code.
    pub fn location_of(&self, path: &str) -> Option<Location> {
        self.keys.as_ref().map(|k| k.location_of(path))
    }

    /// An error about the key `path`, found after loading (a port in use),
    /// pointing where the key was written.
    pub fn error_at_key(&self, path: &str, message: &str) -> Option<ConfigError> {
        self.location_of(path)
            .map(|l| ConfigError::invalid(l, message))
    }

    /// Checks the sensors' transports that exist: a serial path that is a
    /// directory, or a device this user may not read and write (not in the
    /// `dialout` group), is a configuration error. A missing path is not: a
    /// USB device may be plugged in later.
    pub fn check_devices(&self) -> Result<(), ConfigError> {
        for (i, s) in self.sensors.iter().enumerate() {
            if let Err((key, why)) = s.transport.check_access() {
                let msg = format!("sensor `{}`: {why}", s.name);
                return Err(self.key_error(format!("sensor[{i}].{key}"), &msg));
            }
        }
        Ok(())
    }

    /// Checks what the file names on this machine, as `check-config`,
    /// `run` and a reload do before anything starts: the sensors' devices
    /// ([`Self::check_devices`]) and the directory of the stream's Unix
    /// socket, which must exist (the daemon creates no directories for it:
    /// with systemd, `RuntimeDirectory=` does).
    pub fn check_environment(&self) -> Result<(), ConfigError> {
        self.check_devices()?;
        let unix = self
            .sink::<crate::sink::stream::StreamSink>()
            .and_then(|s| s.unix.as_deref());
        if let Some(dir) = unix
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
        {
            if !dir.is_dir() {
                let msg = format!(
                    "the socket's directory {} does not exist (create it first; the daemon does not)",
                    dir.display()
                );
                return Err(self.key_error("stream.unix".into(), &msg));
            }
        }
        Ok(())
    }

    /// An error about `key`, at its place in the file when there is one.
    fn key_error(&self, key: String, msg: &str) -> ConfigError {
        self.error_at_key(&key, msg).unwrap_or_else(|| {
            ConfigError::invalid(
                Location {
                    path: Default::default(),
                    line: 0,
                    column: 0,
                    key,
                },
                msg,
            )
        })
    }
}

/// The `[[sensor]]` tables.
fn sensor_tables<'i>(
    value: Spanned<DeValue<'i>>,
    c: &Checker<'_>,
) -> Result<Vec<Spanned<DeValue<'i>>>, ConfigError> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => Ok(items.into_iter().collect()),
        _ => Err(c.err_at(span, "must be an array of tables ([[sensor]])")),
    }
}
