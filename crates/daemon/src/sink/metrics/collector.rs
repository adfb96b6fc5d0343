//! The daemon's series, computed on each scrape: nothing is updated on the
//! hot path. Sensor series come from the last `SensorHealth` frame of each
//! sensor (sent on every state change and every `health_interval`), so their
//! counters lag by at most that interval; ages are computed at scrape time.
//! Sink series come from each running sink's counters, labelled by sink
//! only: a client that reconnects adds no series.

use std::fmt::Error;
use std::time::Instant;

use dronetel_proto::v1::SensorState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::sink::contract::DaemonView;
use crate::sink::stats::SinkStats;
use crate::status::{state_name, SensorEntry};

/// Every state a sensor can report, for the one-hot `dronetel_sensor_state`.
const STATES: [SensorState; 4] = [
    SensorState::Starting,
    SensorState::Online,
    SensorState::Stale,
    SensorState::Disconnected,
];

/// The collector of every dronetel series.
#[derive(Debug)]
pub struct DaemonCollector {
    daemon: DaemonView,
}

impl DaemonCollector {
    /// A collector over what the daemon shows (it keeps no bus open).
    pub fn new(daemon: DaemonView) -> Self {
        Self { daemon }
    }

    /// A registry holding just this collector.
    pub fn registry(self) -> Registry {
        let mut r = Registry::default();
        r.register_collector(Box::new(self));
        r
    }
}

/// A sensor counter: its name, help, and how to read it from a report.
type SensorCounter = (&'static str, &'static str, fn(&SensorEntry) -> u64);

const SENSOR_COUNTERS: [SensorCounter; 8] = [
    (
        "dronetel_sensor_bytes_read",
        "Bytes read from the device.",
        |e| e.health.bytes_read,
    ),
    (
        "dronetel_sensor_messages_ok",
        "Messages that decoded.",
        |e| e.health.messages_ok,
    ),
    (
        "dronetel_sensor_checksum_errors",
        "Messages with a bad checksum (skipped).",
        |e| e.health.checksum_errors,
    ),
    (
        "dronetel_sensor_framing_errors",
        "Malformed or over-long messages (skipped).",
        |e| e.health.framing_errors,
    ),
    (
        "dronetel_sensor_unknown_messages",
        "Well-formed messages of an unhandled type.",
        |e| e.health.unknown_messages,
    ),
    (
        "dronetel_sensor_readings_published",
        "Readings published to the bus.",
        |e| e.health.readings_published,
    ),
    (
        "dronetel_sensor_reopens",
        "Successful reopens of the device after the first open.",
        |e| e.health.reopen_count,
    ),
    (
        "dronetel_sensor_invalid_values",
        "Values outside their documented range, removed before publishing.",
        |e| e.health.invalid_values,
    ),
];

/// A sink counter: its name, help, and how to read it.
type SinkCounter = (&'static str, &'static str, fn(&SinkStats) -> u64);

const SINK_COUNTERS: [SinkCounter; 6] = [
    (
        "dronetel_sink_frames_sent",
        "Frames delivered per sink (to each client of a sink with clients).",
        |s| SinkStats::get(&s.sent),
    ),
    (
        "dronetel_sink_bytes_sent",
        "Bytes of the frames delivered per sink.",
        |s| SinkStats::get(&s.bytes),
    ),
    (
        "dronetel_sink_dropped_frames",
        "Frames lost per sink (bus lag of the sink or its clients, full queues, oversize).",
        |s| SinkStats::get(&s.dropped),
    ),
    (
        "dronetel_sink_trimmed_frames",
        "GPS frames sent without their sky view to fit (UDP).",
        |s| SinkStats::get(&s.trimmed),
    ),
    (
        "dronetel_sink_errors",
        "Send or write errors per sink.",
        |s| SinkStats::get(&s.errors),
    ),
    (
        "dronetel_slow_clients_disconnected",
        "Clients disconnected for being too slow (lagging or not reading), per sink.",
        |s| SinkStats::get(&s.slow_disconnects),
    ),
];

impl Collector for DaemonCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), Error> {
        let sensors = self.daemon.board.snapshot();
        let now = Instant::now();

        let mut m = enc.encode_descriptor(
            "dronetel_sensor_state",
            "Current state of each sensor (1 for the state it is in).",
            None,
            MetricType::Gauge,
        )?;
        for (name, e) in &sensors {
            for s in STATES {
                let labels = [("sensor", name.as_str()), ("state", state_name(s))];
                ConstGauge::new(i64::from(e.state() == s)).encode(m.encode_family(&labels)?)?;
            }
        }

        let mut m = enc.encode_descriptor(
            "dronetel_sensor_last_message_age_seconds",
            "Time since the sensor's last good message (absent before the first).",
            None,
            MetricType::Gauge,
        )?;
        for (name, e) in &sensors {
            if let Some(age) = e.last_message_age(now) {
                let labels = [("sensor", name.as_str())];
                ConstGauge::new(age.as_secs_f64()).encode(m.encode_family(&labels)?)?;
            }
        }

        for (metric, help, get) in SENSOR_COUNTERS {
            let mut m = enc.encode_descriptor(metric, help, None, MetricType::Counter)?;
            for (name, e) in &sensors {
                let labels = [("sensor", name.as_str())];
                ConstCounter::new(get(e)).encode(m.encode_family(&labels)?)?;
            }
        }

        let bus = &self.daemon.bus;
        ConstGauge::new(bus.depth() as i64).encode(enc.encode_descriptor(
            "dronetel_bus_depth",
            "Frames published but not yet read by the slowest subscriber.",
            None,
            MetricType::Gauge,
        )?)?;
        ConstCounter::new(bus.last_seq()).encode(enc.encode_descriptor(
            "dronetel_bus_frames_published",
            "Frames published on the bus (the last seq).",
            None,
            MetricType::Counter,
        )?)?;
        ConstCounter::new(bus.dropped()).encode(enc.encode_descriptor(
            "dronetel_bus_dropped_frames",
            "Frames lost by subscribers that fell behind, all together.",
            None,
            MetricType::Counter,
        )?)?;

        let sinks = self.daemon.sinks.snapshot();
        for (metric, help, get) in SINK_COUNTERS {
            let mut m = enc.encode_descriptor(metric, help, None, MetricType::Counter)?;
            for (name, stats) in &sinks {
                ConstCounter::new(get(stats)).encode(m.encode_family(&[("sink", *name)])?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "dronetel_clients",
            "Clients connected, per sink.",
            None,
            MetricType::Gauge,
        )?;
        for (name, stats) in &sinks {
            let n = i64::try_from(SinkStats::get(&stats.clients)).unwrap_or(i64::MAX);
            ConstGauge::new(n).encode(m.encode_family(&[("sink", *name)])?)?;
        }

        // Live tasks of the runtime (all of them, not only the daemon's
        // tracked ones): a leak of client or sensor tasks shows up here.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            ConstGauge::new(rt.metrics().num_alive_tasks() as i64).encode(
                enc.encode_descriptor(
                    "dronetel_runtime_alive_tasks",
                    "Tasks alive in the daemon's runtime.",
                    None,
                    MetricType::Gauge,
                )?,
            )?;
        }

        let labels = [("version", env!("CARGO_PKG_VERSION"))];
        let mut m = enc.encode_descriptor(
            "dronetel_build_info",
            "The running dronetel's version.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(1).encode(m.encode_family(&labels)?)?;
        Ok(())
    }
}
