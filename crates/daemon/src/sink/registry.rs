//! The one list of sinks ([`SINKS`]) that the configuration, start-up,
//! reload, the watchdog and the metrics endpoint all go through, and the
//! running set ([`RunningSinks`]) they act on.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::chrony::ChronySink;
use super::contract::{DaemonView, Endpoint, Sink, SinkContext, SinkError, SinkHandle};
use super::foxglove::FoxgloveSink;
use super::gpsd::GpsdSink;
use super::metrics::MetricsSink;
use super::mqtt::MqttSink;
use super::record::RecordSink;
use super::stats::SinkRoster;
use super::stream::StreamSink;
use super::udp::UdpSink;
use crate::bus::Bus;
use crate::config::{Checker, ConfigError, RawSelection, Settings};
use crate::context::TaskContext;
use crate::selection::Selection;

/// Every sink, in start order.
pub static SINKS: &[&dyn RegisteredSink] = &[
    &Entry::<StreamSink>(PhantomData),
    &Entry::<UdpSink>(PhantomData),
    &Entry::<RecordSink>(PhantomData),
    &Entry::<MqttSink>(PhantomData),
    &Entry::<FoxgloveSink>(PhantomData),
    &Entry::<MetricsSink>(PhantomData),
    &Entry::<GpsdSink>(PhantomData),
    &Entry::<ChronySink>(PhantomData),
];

type Starting<'a> = Pin<Box<dyn Future<Output = Result<SinkHandle, SinkError>> + Send + 'a>>;

/// The registry's view of one sink (object-safe, see [`Sink`]).
pub trait RegisteredSink: Sync {
    /// [`Sink::NAME`].
    fn name(&self) -> &'static str;
    /// Reads and checks its section (`None`: not in the file); `None` back
    /// means the sink is off.
    fn configure(
        &self,
        section: Option<Spanned<DeValue<'_>>>,
        c: &Checker<'_>,
    ) -> Result<Option<Settings>, ConfigError>;
    /// [`Sink::NAMED_AFTER_VEHICLE`].
    fn named_after_vehicle(&self) -> bool;
    /// [`Sink::bus_queue`].
    fn bus_queue(&self, config: &Settings) -> Option<usize>;
    /// [`Sink::with_bus_queue`].
    fn with_bus_queue(&self, config: &Settings, queue: usize) -> Settings;
    /// [`Sink::start`].
    fn start<'a>(&'a self, config: &'a Settings, cx: SinkContext) -> Starting<'a>;
}

struct Entry<S>(PhantomData<S>);

impl<S: Sink> RegisteredSink for Entry<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn configure(
        &self,
        section: Option<Spanned<DeValue<'_>>>,
        c: &Checker<'_>,
    ) -> Result<Option<Settings>, ConfigError> {
        let Some(section) = section else {
            return Ok(S::absent().map(Settings::new));
        };
        let span = section.span();
        let DeValue::Table(table) = section.into_inner() else {
            return Err(c.err_at(span, &format!("`{}` must be a table", S::NAME)));
        };
        let (mut own, mut selection) = (DeTable::new(), DeTable::new());
        for (key, value) in table {
            if S::SELECTS && RawSelection::KEYS.contains(&key.get_ref().as_ref()) {
                selection.insert(key, value);
            } else {
                own.insert(key, value);
            }
        }
        let selection = if selection.is_empty() {
            Selection::default()
        } else {
            c.parse::<RawSelection>(Spanned::new(span.clone(), DeValue::Table(selection)))?
                .validate(c)?
        };
        let raw: S::Raw = c.parse(Spanned::new(span, DeValue::Table(own)))?;
        Ok(Some(Settings::new(S::validate(raw, selection, c)?)))
    }

    fn named_after_vehicle(&self) -> bool {
        S::NAMED_AFTER_VEHICLE
    }

    fn bus_queue(&self, config: &Settings) -> Option<usize> {
        config.get::<S::Config>().and_then(S::bus_queue)
    }

    fn with_bus_queue(&self, config: &Settings, queue: usize) -> Settings {
        match config.get::<S::Config>() {
            Some(c) => Settings::new(S::with_bus_queue(c, queue)),
            None => config.clone(),
        }
    }

    fn start<'a>(&'a self, config: &'a Settings, cx: SinkContext) -> Starting<'a> {
        Box::pin(async move {
            match config.get::<S::Config>() {
                Some(c) => S::start(c, cx).await,
                None => Err(SinkError::new::<S>("", "configuration of another sink")),
            }
        })
    }
}

/// The registered sink called `name`.
pub fn find(name: &str) -> Option<&'static dyn RegisteredSink> {
    SINKS.iter().copied().find(|s| s.name() == name)
}

/// Starts sink `S` alone on `ctx`, reading `bus` (tests, in-process use:
/// no daemon around it, so it reports on nothing).
pub async fn start_sink<S: Sink>(
    config: &S::Config,
    ctx: &TaskContext,
    bus: &Bus,
    vehicle_id: &str,
) -> Result<SinkHandle, SinkError> {
    let view = DaemonView {
        board: crate::status::StatusBoard::new([]),
        bus: bus.counters(),
        sinks: SinkRoster::default(),
        sensors: tokio::sync::watch::channel(std::sync::Arc::default()).1,
        raw: crate::sensor::raw::RawTap::default(),
    };
    S::start(
        config,
        SinkContext::new(S::NAME, ctx, bus, vehicle_id, view),
    )
    .await
}

/// The checked configuration of every sink that is on, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinksConfig {
    on: Vec<(&'static str, Settings)>,
}

impl SinksConfig {
    /// Reads every sink's section out of `sections` (top-level key → value;
    /// what a sink takes is removed), in registry order.
    pub(crate) fn configure(
        sections: &mut Vec<(Spanned<String>, Spanned<DeValue<'_>>)>,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        let mut on = Vec::new();
        for sink in SINKS {
            let section = sections
                .iter()
                .position(|(k, _)| k.get_ref() == sink.name())
                .map(|i| sections.remove(i).1);
            if let Some(config) = sink.configure(section, c)? {
                on.push((sink.name(), config));
            }
        }
        Ok(Self { on })
    }

    /// The configuration of sink `S`, when it is on.
    pub fn get<S: Sink>(&self) -> Option<&S::Config> {
        self.settings(S::NAME).and_then(Settings::get)
    }

    /// The configuration of the sink called `name`, when it is on.
    pub fn settings(&self, name: &str) -> Option<&Settings> {
        self.on.iter().find(|(n, _)| *n == name).map(|(_, s)| s)
    }

    /// These settings with sink `S` on with `config` (configurations built
    /// in code).
    pub fn with<S: Sink>(mut self, config: S::Config) -> Self {
        self.set(S::NAME, Some(Settings::new(config)));
        self
    }

    /// Turns sink `S` off (`replay` records nothing).
    pub fn remove<S: Sink>(&mut self) {
        self.set(S::NAME, None);
    }

    /// Sets (or, with `None`, clears) the settings of sink `name`.
    fn set(&mut self, name: &'static str, settings: Option<Settings>) {
        self.on.retain(|(n, _)| *n != name);
        if let Some(s) = settings {
            self.on.push((name, s));
            self.on
                .sort_by_key(|(n, _)| SINKS.iter().position(|s| s.name() == *n));
        }
    }

    /// Every sink asking for the bus queue `queue` instead.
    pub fn pin_bus_queue(&mut self, queue: usize) {
        for (name, settings) in &mut self.on {
            if let Some(entry) = find(name) {
                *settings = entry.with_bus_queue(settings, queue);
            }
        }
    }

    /// The bus queue the sinks ask for (the largest), if any does.
    pub fn bus_queue(&self) -> Option<usize> {
        self.on
            .iter()
            .filter_map(|(n, s)| find(n).and_then(|e| e.bus_queue(s)))
            .max()
    }
}

/// The running sinks: what start-up started and reload keeps current.
#[derive(Debug, Default)]
pub struct RunningSinks {
    handles: Vec<SinkHandle>,
    roster: SinkRoster,
}

/// What changed in a reload of the sinks.
#[derive(Debug, Default)]
pub struct SinkChanges {
    /// Sinks stopped, started or restarted.
    pub changed: Vec<String>,
    /// What could not be applied.
    pub problems: Vec<String>,
}

/// What a sink start is given besides its configuration.
pub(crate) struct StartWith<'a> {
    pub(crate) ctx: &'a TaskContext,
    pub(crate) bus: &'a Bus,
    pub(crate) vehicle_id: &'a str,
    pub(crate) view: DaemonView,
}

impl StartWith<'_> {
    async fn start(
        &self,
        sink: &'static dyn RegisteredSink,
        config: &Settings,
    ) -> Result<SinkHandle, SinkError> {
        let cx = SinkContext::new(
            sink.name(),
            self.ctx,
            self.bus,
            self.vehicle_id,
            self.view.clone(),
        );
        sink.start(config, cx).await
    }
}

impl RunningSinks {
    /// The roster of counters the metrics endpoint reads.
    pub fn roster(&self) -> &SinkRoster {
        &self.roster
    }

    /// The running sink called `name`.
    pub fn get(&self, name: &str) -> Option<&SinkHandle> {
        self.handles.iter().find(|h| h.name() == name)
    }

    /// Every running sink.
    pub fn iter(&self) -> impl Iterator<Item = &SinkHandle> {
        self.handles.iter()
    }

    /// The first endpoint of sink `S` that `pick` accepts.
    pub fn endpoint<S: Sink, T>(&self, pick: impl Fn(&Endpoint) -> Option<T>) -> Option<T> {
        self.get(S::NAME)?.endpoints().iter().find_map(pick)
    }

    /// Starts every configured sink, in registry order; the first failure
    /// is returned (the sinks started before keep running until shutdown).
    pub(crate) async fn start_all(
        &mut self,
        sinks: &SinksConfig,
        with: &StartWith<'_>,
    ) -> Result<(), SinkError> {
        for sink in SINKS {
            if let Some(config) = sinks.settings(sink.name()) {
                let handle = with.start(*sink, config).await?;
                self.handles.push(handle);
                self.publish_roster();
            }
        }
        Ok(())
    }

    /// Applies `new` as a difference to `old`: a sink whose settings (and,
    /// for one named after it, the vehicle id) did not change keeps
    /// running; a changed one is stopped (it first handles what was
    /// published) and started anew; if the new settings fail, the old ones
    /// are started again. `new` is left saying what runs.
    pub(crate) async fn reload(
        &mut self,
        old: &SinksConfig,
        new: &mut SinksConfig,
        vehicle_changed: bool,
        grace: Duration,
        with: &StartWith<'_>,
    ) -> SinkChanges {
        let mut changes = SinkChanges::default();
        for sink in SINKS {
            let (was, now) = (
                old.settings(sink.name()).cloned(),
                new.settings(sink.name()).cloned(),
            );
            if was == now && !(now.is_some() && vehicle_changed && sink.named_after_vehicle()) {
                continue;
            }
            changes.changed.push(sink.name().to_owned());
            if let Some(i) = self.handles.iter().position(|h| h.name() == sink.name()) {
                let late = self.handles.remove(i).stop(grace).await;
                if !late.is_empty() {
                    changes.problems.push(format!(
                        "{} sink did not stop within {grace:?}: aborted {late:?}",
                        sink.name()
                    ));
                }
            }
            let Some(config) = now else { continue };
            match with.start(*sink, &config).await {
                Ok(h) => self.handles.push(h),
                Err(e) => {
                    changes
                        .problems
                        .push(format!("new {} sink: {e}", sink.name()));
                    let mut running = None;
                    if let Some(config) = was {
                        match with.start(*sink, &config).await {
                            Ok(h) => {
                                changes.problems.push(format!(
                                    "{} sink: keeping the old settings",
                                    sink.name()
                                ));
                                self.handles.push(h);
                                running = Some(config);
                            }
                            Err(e) => changes.problems.push(format!(
                                "old {} sink: {e}; it stays stopped until a reload fixes it",
                                sink.name()
                            )),
                        }
                    }
                    new.set(sink.name(), running);
                }
            }
        }
        self.handles
            .sort_by_key(|h| SINKS.iter().position(|s| s.name() == h.name()));
        self.publish_roster();
        changes
    }

    /// The sinks with a task that ended before it was asked to stop.
    pub fn dead(&self) -> Vec<&'static str> {
        self.handles
            .iter()
            .filter(|h| !h.alive())
            .map(|h| h.name())
            .collect()
    }

    fn publish_roster(&self) {
        self.roster.set(
            self.handles
                .iter()
                .map(|h| (h.name(), h.stats().clone()))
                .collect(),
        );
    }
}
