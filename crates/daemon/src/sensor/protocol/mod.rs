//! Sensor protocols: each names itself, the kinds of sensor it reads, its
//! options (their raw form and checks) and builds its decoder from the wire
//! crate. Every protocol implements [`Protocol`]; [`PROTOCOLS`] is the one
//! list the configuration and the sensor tasks go through.
//!
//! The contract is a typed trait, erased behind [`RegisteredProtocol`] so
//! the registry is a plain list and each protocol's options stay their own
//! type ([`ProtocolConfig::options`] gives them back). A sensor task is
//! generic over the decoder, so every protocol keeps its monomorphic hot
//! path; only the start goes through the erased entry.
//!
//! # Layout
//! - [`nmea`], [`ublox`], [`mavlink`], [`tracker`]: one module per protocol.

pub mod mavlink;
pub mod nmea;
pub mod tracker;
pub mod ublox;

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use toml::de::DeValue;
use toml::Spanned;

use dronetel_wire::SensorDecoder;

use super::kind::SensorKind;
use super::task::SensorSettings;
use super::transport::TransportConfig;
use crate::bus::Bus;
use crate::config::{Checker, ConfigError, Settings};
use crate::context::TaskContext;

/// A sensor protocol as the daemon registers it.
pub trait Protocol: Send + Sync + 'static {
    /// The name in `[[sensor]] protocol`.
    const NAME: &'static str;
    /// The kinds of sensor it reads.
    const KINDS: &'static [SensorKind];
    /// Its option keys in a `[[sensor]]` table (the fields of `Raw`; a test
    /// checks they agree).
    const OPTIONS: &'static [&'static str];
    /// Whether its input is NMEA text that sinks may pass on as read
    /// (gpsd's `"nmea":true` watchers): the sensor task then copies what
    /// it reads to the raw tap while someone listens.
    const RAW_NMEA: bool = false;
    /// Its options as written (unknown keys refused).
    type Raw: DeserializeOwned;
    /// Its options, checked.
    type Options: fmt::Debug + Clone + PartialEq + Send + Sync + 'static;
    /// Its decoder.
    type Decoder: SensorDecoder;

    /// Checks the options.
    fn options(raw: Self::Raw, c: &Checker<'_>) -> Result<Self::Options, ConfigError>;
    /// A decoder for one connection of a sensor with `options`.
    fn decoder(options: &Self::Options) -> Self::Decoder;
}

/// Every protocol the daemon reads, in the order errors list them.
pub static PROTOCOLS: &[&dyn RegisteredProtocol] = &[
    &Entry::<nmea::Nmea>(PhantomData),
    &Entry::<mavlink::Mavlink>(PhantomData),
    &Entry::<tracker::Tracker>(PhantomData),
    &Entry::<ublox::Ublox>(PhantomData),
];

/// The registry's view of one protocol (object-safe, see [`Protocol`]).
pub trait RegisteredProtocol: Sync {
    /// [`Protocol::NAME`].
    fn name(&self) -> &'static str;
    /// [`Protocol::KINDS`].
    fn kinds(&self) -> &'static [SensorKind];
    /// [`Protocol::OPTIONS`].
    fn option_keys(&self) -> &'static [&'static str];
    /// [`Protocol::RAW_NMEA`].
    fn raw_nmea(&self) -> bool;
    /// Reads and checks the options from the table of option keys.
    fn configure(
        &self,
        table: Spanned<DeValue<'_>>,
        c: &Checker<'_>,
    ) -> Result<Settings, ConfigError>;
    /// Starts a sensor task reading this protocol over `transport`.
    fn spawn(
        &self,
        options: &Settings,
        transport: &TransportConfig,
        ctx: &TaskContext,
        task: String,
        bus: Bus,
        settings: SensorSettings,
    ) -> JoinHandle<()>;
}

/// The registry entry of protocol `P`.
struct Entry<P>(PhantomData<P>);

impl<P: Protocol> RegisteredProtocol for Entry<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn kinds(&self) -> &'static [SensorKind] {
        P::KINDS
    }
    fn option_keys(&self) -> &'static [&'static str] {
        P::OPTIONS
    }
    fn raw_nmea(&self) -> bool {
        P::RAW_NMEA
    }
    fn configure(
        &self,
        table: Spanned<DeValue<'_>>,
        c: &Checker<'_>,
    ) -> Result<Settings, ConfigError> {
        let raw: P::Raw = c.parse(table)?;
        Ok(Settings::new(P::options(raw, c)?))
    }
    fn spawn(
        &self,
        options: &Settings,
        transport: &TransportConfig,
        ctx: &TaskContext,
        task: String,
        bus: Bus,
        settings: SensorSettings,
    ) -> JoinHandle<()> {
        let decoder = match options.get::<P::Options>() {
            Some(o) => P::decoder(o),
            // A ProtocolConfig is only ever built with its own entry.
            None => unreachable!("options of another protocol"),
        };
        transport.spawn(ctx, task, bus, settings, decoder)
    }
}

/// A sensor's protocol with its checked options.
#[derive(Clone)]
pub struct ProtocolConfig {
    entry: &'static dyn RegisteredProtocol,
    options: Settings,
}

impl ProtocolConfig {
    /// `P` with `options` (what the configuration builds; also for tests
    /// and in-process use).
    pub fn new<P: Protocol>(options: P::Options) -> Self {
        // A zero-sized entry: leaking it allocates nothing.
        let entry: &'static Entry<P> = Box::leak(Box::new(Entry(PhantomData)));
        Self {
            entry,
            options: Settings::new(options),
        }
    }

    pub(crate) fn from_entry(entry: &'static dyn RegisteredProtocol, options: Settings) -> Self {
        Self { entry, options }
    }

    /// The protocol's name as written in the configuration.
    pub fn name(&self) -> &'static str {
        self.entry.name()
    }

    /// Whether sinks may pass its input on as NMEA text.
    pub fn raw_nmea(&self) -> bool {
        self.entry.raw_nmea()
    }

    /// The options, when the protocol is `P`.
    pub fn options<P: Protocol>(&self) -> Option<&P::Options> {
        (self.entry.name() == P::NAME)
            .then(|| self.options.get::<P::Options>())
            .flatten()
    }

    /// Starts a sensor task for this protocol over `transport`.
    pub(crate) fn spawn(
        &self,
        transport: &TransportConfig,
        ctx: &TaskContext,
        task: String,
        bus: Bus,
        settings: SensorSettings,
    ) -> JoinHandle<()> {
        self.entry
            .spawn(&self.options, transport, ctx, task, bus, settings)
    }
}

impl PartialEq for ProtocolConfig {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.options == other.options
    }
}

impl fmt::Debug for ProtocolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", self.name(), self.options)
    }
}

/// The registered protocol called `name`.
pub fn find(name: &str) -> Option<&'static dyn RegisteredProtocol> {
    PROTOCOLS.iter().copied().find(|p| p.name() == name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn option_keys_are_the_raw_fields() {
        for p in PROTOCOLS {
            // serde lists a struct's fields in its unknown-field error.
            let e = p
                .configure(
                    Spanned::new(0..0, DeValue::Table(unknown_key_table())),
                    &Checker::new(&crate::config::KeyIndex::new(
                        std::path::Path::new("t.toml"),
                        "",
                        &Default::default(),
                    )),
                )
                .unwrap_err()
                .to_string();
            if p.option_keys().is_empty() {
                assert!(e.contains("there are no fields"), "{}: {e}", p.name());
            }
            let listed = crate::config::listed_fields(&e);
            assert_eq!(listed, p.option_keys(), "{}", p.name());
        }
    }

    fn unknown_key_table() -> toml::de::DeTable<'static> {
        let (doc, _) = toml::de::DeTable::parse_recoverable("zzz_unknown = 1");
        doc.into_inner()
    }

    #[test]
    fn every_kind_has_a_protocol() {
        use SensorKind::*;
        for kind in [Gps, FlightController, Tracking] {
            assert!(
                PROTOCOLS.iter().any(|p| p.kinds().contains(&kind)),
                "{kind}"
            );
        }
    }
}
