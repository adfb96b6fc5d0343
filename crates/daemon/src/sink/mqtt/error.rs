//! [`MqttError`]: why the MQTT sink could not start.

/// Why the MQTT sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The password file could not be read.
    #[error("mqtt password_file {}: {source}", path.display())]
    Password {
        /// The file.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A certificate or key file of the `[mqtt]` section is unusable.
    #[error("mqtt {key} {}: {reason}", path.display())]
    Tls {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `mqtts://` without `ca_file`, and the system has no CA certificates.
    #[error("mqtt: no ca_file given and no CA certificates found in the system's trust store")]
    NoTrustedRoots,
    /// rustls refused the configuration.
    #[error("mqtt TLS setup: {0}")]
    TlsSetup(String),
}

impl MqttError {
    /// The `[mqtt]` key whose value caused it.
    pub fn key(&self) -> &'static str {
        match self {
            MqttError::Password { .. } => "password_file",
            MqttError::Tls { key, .. } => key,
            MqttError::NoTrustedRoots | MqttError::TlsSetup(_) => "url",
        }
    }
}
