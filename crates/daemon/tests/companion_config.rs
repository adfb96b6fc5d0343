//! config/companion-rpi.toml, the file shipped for a Raspberry Pi companion
//! computer, is valid and says what its comments say.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use dronetel::sensor::SensorKind;
use dronetel::sink::{metrics::MetricsSink, record::RecordSink, stream::StreamSink};
use dronetel::Config;

#[test]
fn companion_rpi_config_is_valid_and_loopback_only() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/companion-rpi.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let sensors: Vec<(&str, SensorKind, &str, String, u32)> = c
        .sensors
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.kind,
                s.protocol.name(),
                s.transport.device(),
                s.transport.baud().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(sensors.len(), 3, "{sensors:?}");
    let (name, kind, proto, dev, _) = &sensors[0];
    assert_eq!((*name, *kind, *proto), ("gps", SensorKind::Gps, "nmea"));
    assert!(dev.starts_with("/dev/serial/by-id/usb-u-blox"), "{dev}");
    assert_eq!(
        sensors[1],
        (
            "fc",
            SensorKind::FlightController,
            "mavlink",
            "/dev/ttyAMA0".into(),
            921_600
        )
    );
    let (name, kind, proto, dev, _) = &sensors[2];
    assert_eq!(
        (*name, *kind, *proto),
        ("tracker", SensorKind::Tracking, "tracker")
    );
    assert!(dev.starts_with("/dev/serial/by-id/usb-"), "{dev}");
    // The unit allows loopback traffic only, and /run/dronetel is its
    // RuntimeDirectory.
    assert!(c
        .sink::<StreamSink>()
        .unwrap()
        .tcp
        .unwrap()
        .ip()
        .is_loopback());
    assert_eq!(
        c.sink::<StreamSink>().unwrap().unix.as_deref(),
        Some(std::path::Path::new("/run/dronetel/stream.sock"))
    );
    assert!(c.sink::<MetricsSink>().unwrap().listen.ip().is_loopback());
    // Recordings go to the unit's StateDirectory (ProtectSystem=strict).
    let record = c.sink::<RecordSink>().expect("[record]");
    assert!(
        record.dir.starts_with("/var/lib/dronetel"),
        "{}",
        record.dir.display()
    );
}
