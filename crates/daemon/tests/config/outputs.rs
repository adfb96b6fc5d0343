//! The `[udp]`, `[record]`, `[mqtt]` and `[foxglove]` sections: defaults,
//! and errors that name the file, line and key.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use dronetel::selection::Kind;
use dronetel::sink::{foxglove::FoxgloveSink, mqtt::MqttSink, record::RecordSink, udp::UdpSink};
use dronetel::{Config, ConfigError};

const BASE: &str = r#"
[daemon]
vehicle_id = "v"

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = "/dev/null"
baud = 9600
"#;

fn parse(extra: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{BASE}{extra}"), "t.toml")
}

#[test]
fn sections_get_their_defaults() {
    let c = parse("[udp]\ntarget = \"127.0.0.1:14560\"\n[record]\ndir = \"/tmp/r\"\n[mqtt]\nurl = \"mqtt://broker\"\nmax_rate = { gps = 2.0 }\n").unwrap();
    let u = c.sink::<UdpSink>().unwrap().clone();
    assert_eq!((u.max_datagram, u.multicast_ttl), (1200, 1));
    assert!(u.selection.is_everything());
    let r = c.sink::<RecordSink>().unwrap().clone();
    assert_eq!(r.max_file_duration, Duration::from_secs(3600));
    assert_eq!(
        r.compression,
        dronetel::sink::record::RecordCompression::Zstd
    );
    let m = c.sink::<MqttSink>().unwrap().clone();
    assert_eq!((m.host.as_str(), m.port), ("broker", 1883));
    assert_eq!((m.qos_of(Kind::Gps), m.qos_of(Kind::Health)), (0, 1));
    assert_eq!(
        m.selection.min_interval[&Kind::Gps],
        Duration::from_millis(500)
    );
    assert!(parse("").unwrap().sink::<UdpSink>().is_none());
    assert!(r.foxglove, "Foxglove's schemas are recorded by default");
}

#[test]
fn foxglove_is_off_without_its_section_and_on_loopback_with_it() {
    assert!(parse("").unwrap().sink::<FoxgloveSink>().is_none());
    let c = parse("[foxglove]\n").unwrap();
    let f = c.sink::<FoxgloveSink>().unwrap();
    assert_eq!(f.listen, "127.0.0.1:8765".parse().unwrap());
    assert_eq!((f.max_clients, f.max_client_message), (8, 65536));
    let c = parse("[record]\ndir = \"/r\"\nfoxglove = false\n").unwrap();
    assert!(!c.sink::<RecordSink>().unwrap().foxglove);
}

#[test]
fn mqtts_defaults_to_port_8883_with_tls() {
    let c = parse("[mqtt]\nurl = \"mqtts://broker.example\"\nca_file = \"/etc/ca.pem\"\n");
    let m = c.unwrap().sink::<MqttSink>().unwrap().clone();
    assert!(m.tls);
    assert_eq!((m.host.as_str(), m.port), ("broker.example", 8883));
    assert_eq!(
        m.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem"))
    );
}

#[test]
fn bad_values_are_located() {
    let cases = [
        (
            "[udp]\ntarget = \"127.0.0.1:1\"\nmax_datagram = 10\n",
            "max_datagram",
            "at least 64",
        ),
        (
            "[mqtt]\nurl = \"mqtt://broker\"\nca_file = \"/ca.pem\"\n",
            "ca_file",
            "only used with an mqtts://",
        ),
        (
            "[mqtt]\nurl = \"mqtts://broker\"\nclient_cert = \"/c.pem\"\n",
            "client_cert",
            "needs client_key",
        ),
        (
            "[mqtt]\nurl = \"mqtts://broker\"\nclient_key = \"/c.key\"\n",
            "client_key",
            "needs client_cert",
        ),
        ("[mqtt]\nurl = \"http://broker\"\n", "url", "mqtt://"),
        ("[mqtt]\nurl = \"mqtt://b:0\"\n", "url", "port"),
        (
            "[mqtt]\nurl = \"mqtt://b\"\nqos = { gps = 3 }\n",
            "gps",
            "QoS",
        ),
        (
            "[record]\ndir = \"/r\"\nmax_rate = { gps = 0.0 }\n",
            "gps",
            "rate in Hz",
        ),
        (
            "[record]\ndir = \"/r\"\nmax_file_size = 10\n",
            "max_file_size",
            "65536",
        ),
        (
            "[record]\ndir = \"/r\"\ncompression = \"lz4\"\n",
            "compression",
            "unknown variant",
        ),
        (
            "[foxglove]\nmax_clients = 0\n",
            "max_clients",
            "between 1 and",
        ),
        ("[foxglove]\nlisten = \"nowhere\"\n", "listen", "invalid"),
        (
            "[udp]\ntarget = \"127.0.0.1:1\"\nkinds = [\"sky\"]\n",
            "kinds",
            "unknown variant",
        ),
    ];
    for (extra, key, msg) in cases {
        let e = parse(extra).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(msg), "{extra:?}: {e}");
        assert!(e.starts_with("t.toml:"), "{e}");
    }
}
