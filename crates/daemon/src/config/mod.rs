//! The daemon's TOML configuration: the validated types the rest of the daemon
//! reads, and the loader that turns a file into them or into an error naming
//! `FILE:LINE:COLUMN` and the key.
//!
//! # Layout
//! - [`types`]: the validated configuration ([`Config`] and its sections).
//! - [`protocol`]: the MAVLink and tracker protocol options.
//! - `raw`: the serde mirror of the file, with spans kept for validation.
//! - `validate`: raw → validated, with the semantic checks.
//! - [`outputs`]: `[udp]`, `[record]`, `[mqtt]` (types, raw mirrors, checks).
//! - `selection`: the sensor/kind filter and rates of a sink section.
//! - [`metrics`]: the `[metrics]` section.
//! - [`error`]: [`ConfigError`] and the span → line/column/key locator.
//! - [`locate`]: errors found after loading (a port in use, an unusable
//!   device path) pointed back at the key that configured them.

pub mod error;
pub mod locate;
pub mod metrics;
pub mod outputs;
pub mod protocol;
mod raw;
mod selection;
pub mod types;
mod validate;

use std::path::Path;

pub use error::ConfigError;
pub use metrics::MetricsConfig;
pub use outputs::{MqttConfig, OutputsConfig, RecordCompression, RecordConfig, UdpConfig};
pub use protocol::{MavlinkConfig, TrackerConfig};
pub use types::{
    Config, DaemonConfig, NmeaConfig, ProtocolConfig, SensorConfig, SensorKind, StreamConfig,
};

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
        let path = path.as_ref();
        let raw: raw::RawConfig = toml::from_str(src)
            .map_err(|e| ConfigError::at(path, src, e.span(), None, e.message()))?;
        validate::validate(raw, src, path)
    }
}
