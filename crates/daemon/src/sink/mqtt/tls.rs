//! TLS for `mqtts://` brokers: a rustls client configuration (ring provider)
//! from the `[mqtt]` section's CA file, or the system's trust store when it
//! names none, plus an optional client certificate and key.

use std::path::Path;
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::config::MqttConfig;
use super::error::MqttError;

fn tls_err(key: &'static str, path: &Path, reason: impl ToString) -> MqttError {
    MqttError::Tls {
        key,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Every certificate of a PEM file (at least one).
fn certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, MqttError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_err(key, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(key, path, e))?;
    if certs.is_empty() {
        return Err(tls_err(key, path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

/// The trust anchors: the CA file, or the system's store.
fn roots(config: &MqttConfig) -> Result<RootCertStore, MqttError> {
    let mut roots = RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            for c in certs("ca_file", path)? {
                roots.add(c).map_err(|e| tls_err("ca_file", path, e))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::debug!(error = %e, "mqtt: a system CA certificate could not be loaded");
            }
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(MqttError::NoTrustedRoots);
            }
        }
    }
    Ok(roots)
}

/// The transport for an `mqtts://` broker.
pub(super) fn transport(config: &MqttConfig) -> Result<Transport, MqttError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttError::TlsSetup(e.to_string()))?
        .with_root_certificates(roots(config)?);
    let client = match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certs("client_cert", cert)?;
            let pk =
                PrivateKeyDer::from_pem_file(key).map_err(|e| tls_err("client_key", key, e))?;
            builder
                .with_client_auth_cert(chain, pk)
                .map_err(|e| tls_err("client_key", key, e))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(client),
    )))
}
