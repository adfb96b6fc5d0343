//! Configuration loading: located errors for every kind of mistake, and the
//! binary's exit status 78 with one clear line.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use dronetel::sensor::protocol::mavlink::{Mavlink, MavlinkConfig};
use dronetel::sensor::protocol::nmea::Nmea;
use dronetel::sensor::SensorKind;
use dronetel::sink::stream::StreamSink;
use dronetel::Config;

const GOOD: &str = r#"
[daemon]
vehicle_id = "sim-1"
shutdown_grace = "3s"

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = "/dev/serial/by-id/usb-u-blox_GNSS_receiver-if00"
baud = 115200
stale_after = "2s"

[stream]
tcp = "127.0.0.1:4780"
unix = "/run/dronetel/stream.sock"
max_clients = 64
"#;

fn err(src: &str) -> String {
    Config::parse(src, "dronetel.toml").unwrap_err().to_string()
}

/// `src` with `from` replaced by `to` (which must occur once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(GOOD.matches(from).count(), 1, "{from}");
    GOOD.replace(from, to)
}

#[test]
fn the_issue_example_loads_with_defaults() {
    let c = Config::parse(GOOD, "x.toml").unwrap();
    assert_eq!(c.daemon.vehicle_id, "sim-1");
    assert_eq!(c.daemon.shutdown_grace, Duration::from_secs(3));
    assert_eq!(c.daemon.health_interval, Duration::from_secs(1));
    let s = &c.sensors[0];
    assert_eq!(
        (s.name.as_str(), s.kind, s.transport.baud()),
        ("gps", SensorKind::Gps, Some(115200))
    );
    assert_eq!(s.stale_after, Duration::from_secs(2));
    let Some(n) = s.protocol.options::<Nmea>() else {
        panic!("not nmea: {:?}", s.protocol)
    };
    assert!(n.require_checksum && n.idle_gap.is_none());
    assert_eq!(c.sink::<StreamSink>().unwrap().max_clients, 64);
    assert_eq!(
        c.sink::<StreamSink>().unwrap().tcp,
        Some("127.0.0.1:4780".parse().unwrap())
    );
}

#[test]
fn shipped_configs_are_valid() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    for f in ["sim.toml", "example.toml", "drone.toml"] {
        Config::load(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn the_three_sensor_config_has_each_protocol_with_its_options() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let c = Config::load(root.join("drone.toml")).unwrap();
    let protocols: Vec<&str> = c.sensors.iter().map(|s| s.protocol.name()).collect();
    assert_eq!(protocols, ["nmea", "mavlink", "tracker"]);
    assert_eq!(
        c.sensors[1].protocol.options::<Mavlink>(),
        Some(&MavlinkConfig {
            request_message_rates: false
        })
    );
}

#[test]
fn options_of_another_protocol_are_rejected() {
    let e = err(&edit(
        "baud = 115200",
        "baud = 115200\nrequest_message_rates = true",
    ));
    assert!(e.contains("sensor[0].request_message_rates"), "{e}");
    assert!(
        e.contains("applies to protocol `mavlink` only, not `nmea`"),
        "{e}"
    );
}

#[test]
fn malformed_toml_names_file_line_and_key() {
    let e = err(&edit("baud = 115200", "baud = = 115200"));
    assert!(e.starts_with("dronetel.toml:11:"), "{e}");
    assert!(e.contains("sensor[0].baud"), "{e}");
}

#[test]
fn unknown_key_names_the_key() {
    let e = err(&edit("baud = 115200", "baud = 115200\nbuad = 9600"));
    assert!(e.starts_with("dronetel.toml:12:1:"), "{e}");
    assert!(e.contains("sensor[0].buad"), "{e}");
    assert!(e.contains("unknown field"), "{e}");
    let e = err(&edit("[stream]", "[stream]\nmax_client = 3"));
    assert!(
        e.contains(":15:1:") && e.contains("stream.max_client"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let e = err(&edit("baud = 115200", r#"baud = "fast""#));
    assert!(e.starts_with("dronetel.toml:11:8:"), "{e}");
    assert!(e.contains("sensor[0].baud"), "{e}");
    let e = err(&edit(
        r#"stale_after = "2s""#,
        r#"stale_after = "2 parsecs""#,
    ));
    assert!(
        e.contains(":12:") && e.contains("sensor[0].stale_after"),
        "{e}"
    );
    let e = err(&edit(r#"tcp = "127.0.0.1:4780""#, r#"tcp = "localhost""#));
    assert!(e.contains(":15:") && e.contains("stream.tcp"), "{e}");
}

#[test]
fn duplicate_sensor_names_point_at_the_second() {
    let second = "[[sensor]]\nname = \"gps\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"/dev/ttyACM1\"\nbaud = 9600\n\n[stream]";
    let e = err(&edit("[stream]", second));
    assert!(e.starts_with("dronetel.toml:15:8:"), "{e}");
    assert!(e.contains("sensor[1].name"), "{e}");
    assert!(
        e.contains("duplicate sensor name `gps` (first used on line 7)"),
        "{e}"
    );
}

#[test]
fn semantic_errors_are_located() {
    let cases = [
        (
            edit("max_clients = 64", "max_clients = 0"),
            ":17:15:",
            "stream.max_clients",
        ),
        (
            edit(r#"protocol = "nmea""#, r#"protocol = "mavlink""#),
            ":9:12:",
            "sensor[0].protocol",
        ),
        (
            edit(r#"kind = "gps""#, r#"kind = "tracking""#),
            ":9:12:",
            "sensor[0].protocol",
        ),
        (
            edit(r#"stale_after = "2s""#, r#"stale_after = "0s""#),
            ":12:15:",
            "sensor[0].stale_after",
        ),
        (
            edit(r#"vehicle_id = "sim-1""#, r#"vehicle_id = " ""#),
            ":3:14:",
            "daemon.vehicle_id",
        ),
        (
            edit(r#"name = "gps""#, r#"name = "g p s""#),
            ":7:8:",
            "sensor[0].name",
        ),
    ];
    for (src, at, key) in cases {
        let e = err(&src);
        assert!(e.contains(at) && e.contains(key), "want {at} {key}: {e}");
    }
}

#[test]
fn missing_sections_and_listeners() {
    let e = err(&edit(
        "[stream]\ntcp = \"127.0.0.1:4780\"\nunix = \"/run/dronetel/stream.sock\"\n",
        "[stream]\n",
    ));
    assert!(
        e.contains("stream") && e.contains("at least one of `tcp` and `unix`"),
        "{e}"
    );
    let no_stream = &GOOD[..GOOD.find("[stream]").unwrap()];
    let c = Config::parse(no_stream, "x.toml").unwrap();
    assert_eq!(
        c.sink::<StreamSink>().unwrap().tcp,
        Some("127.0.0.1:4780".parse().unwrap())
    );
    assert_eq!(c.sink::<StreamSink>().unwrap().unix, None);
    let no_daemon = GOOD.replace(
        "[daemon]\nvehicle_id = \"sim-1\"\nshutdown_grace = \"3s\"\n",
        "",
    );
    assert!(err(&no_daemon).contains("missing field `daemon`"));
}

/// A fresh, unique directory under the system temp dir.
fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dronetel-test")
        .tempdir()
        .unwrap()
}

#[test]
fn binary_exits_78_with_one_line_on_config_errors() {
    let dir = temp_dir();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, edit("baud = 115200", "baud = 115200\nbuad = 1")).unwrap();
    for sub in ["run", "check-config"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dronetel"))
            .args(["--allow-root", sub, "--config"])
            .arg(&bad)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(78), "{sub}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{}:12:1", bad.display())),
            "{stderr}"
        );
        assert!(stderr.contains("sensor[0].buad"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let missing = dir.path().join("missing.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", "run", "--config"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

/// Runs `dronetel SUB --config FILE` and returns (exit code, stderr).
fn run_binary(sub: &str, config: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", sub, "--config"])
        .arg(config)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

/// Exit 78 with a last line naming `file:line:` and `key`, and no panic;
/// errors in the file itself are that one line only (a listener that
/// cannot bind is found after the start-up log line).
fn assert_config_exit(sub: &str, config: &std::path::Path, line: usize, key: &str) -> String {
    let (code, all) = run_binary(sub, config);
    assert_eq!(code, Some(78), "{sub}: {all}");
    assert!(
        !all.contains("panicked") && !all.contains("backtrace"),
        "{all}"
    );
    if !key.starts_with("stream.") && !key.starts_with("metrics.") {
        assert_eq!(all.lines().count(), 1, "{all}");
    }
    let stderr = all.lines().last().unwrap_or_default().to_owned();
    assert!(
        stderr.starts_with("dronetel: configuration error: "),
        "{all}"
    );
    assert!(
        stderr.contains(&format!("{}:{line}:", config.display())),
        "want line {line}: {stderr}"
    );
    assert!(stderr.contains(&format!("`{key}`")), "want {key}: {stderr}");
    stderr
}

#[test]
fn binary_exits_78_for_every_kind_of_file_mistake() {
    let dir = temp_dir();
    let second = "[[sensor]]\nname = \"gps\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"/dev/ttyACM1\"\nbaud = 9600\n\n[stream]";
    let cases = [
        (
            "malformed",
            edit("baud = 115200", "baud = = 115200"),
            11,
            "sensor[0].baud",
        ),
        (
            "unknown",
            edit("[stream]", "[stream]\nmax_client = 3"),
            15,
            "stream.max_client",
        ),
        (
            "wrong-type",
            edit("baud = 115200", r#"baud = "fast""#),
            11,
            "sensor[0].baud",
        ),
        ("duplicate", edit("[stream]", second), 15, "sensor[1].name"),
    ];
    for (name, text, line, key) in cases {
        let f = dir.path().join(format!("{name}.toml"));
        std::fs::write(&f, text).unwrap();
        for sub in ["run", "check-config"] {
            let msg = assert_config_exit(sub, &f, line, key);
            eprintln!("{name}: {msg}");
        }
    }
}

#[test]
fn binary_exits_78_for_a_device_path_it_cannot_use() {
    let dir = temp_dir();
    let not_a_device = dir.path().join("ttyUSB9");
    std::fs::create_dir(&not_a_device).unwrap();
    let f = dir.path().join("dir.toml");
    let path = "/dev/serial/by-id/usb-u-blox_GNSS_receiver-if00";
    std::fs::write(&f, edit(path, &not_a_device.display().to_string())).unwrap();
    for sub in ["run", "check-config"] {
        let msg = assert_config_exit(sub, &f, 10, "sensor[0].path");
        assert!(msg.contains("is a directory"), "{msg}");
    }
    // A missing device is not an error: it may be plugged in later.
    std::fs::write(&f, GOOD.replace("127.0.0.1:4780", "127.0.0.1:1")).unwrap();
    let (code, stderr) = run_binary("check-config", &f);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn binary_exits_78_naming_the_listener_whose_port_is_in_use() {
    let dir = temp_dir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let sock = dir.path().join("s.sock");
    let text = edit(
        "tcp = \"127.0.0.1:4780\"\nunix = \"/run/dronetel/stream.sock\"",
        &format!("tcp = \"127.0.0.1:{port}\"\nunix = \"{}\"", sock.display()),
    )
    .replace(
        "/dev/serial/by-id/usb-u-blox_GNSS_receiver-if00",
        "/nonexistent/tty",
    );
    let f = dir.path().join("port.toml");
    std::fs::write(&f, &text).unwrap();
    let msg = assert_config_exit("run", &f, 15, "stream.tcp");
    assert!(msg.contains("in use"), "{msg}");
    // The metrics endpoint too.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let text = text.replace(&port.to_string(), &free_port.to_string())
        + &format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    std::fs::write(&f, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("listen")).unwrap() + 1;
    let msg = assert_config_exit("run", &f, line, "metrics.listen");
    eprintln!("{msg}");
}
