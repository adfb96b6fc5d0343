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
    assert_eq!(c.daemon.host_clock, dronetel::sensor::HostClock::Ntp);
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
            request_message_rates: false,
            system_id: None,
            signing: None,
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
    let sock = dir.path().join("stream.sock");
    let text = GOOD
        .replace("127.0.0.1:4780", "127.0.0.1:1")
        .replace("/run/dronetel/stream.sock", &sock.display().to_string());
    std::fs::write(&f, text).unwrap();
    let (code, stderr) = run_binary("check-config", &f);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn binary_exits_78_for_a_unix_socket_in_a_missing_directory_and_creates_none() {
    let dir = temp_dir();
    let missing = dir.path().join("no").join("such");
    let f = dir.path().join("sock.toml");
    let text = GOOD.replace(
        "/run/dronetel/stream.sock",
        &missing.join("stream.sock").display().to_string(),
    );
    let line = 1 + text.lines().position(|l| l.starts_with("unix =")).unwrap();
    std::fs::write(&f, &text).unwrap();
    for sub in ["check-config", "run"] {
        let msg = assert_config_exit(sub, &f, line, "stream.unix");
        assert!(msg.contains("does not exist"), "{msg}");
        assert!(!dir.path().join("no").exists(), "{sub} created directories");
    }
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
    // The metrics endpoint too (the stream on port 0: the kernel picks a
    // free one at bind).
    let text = text.replace(&port.to_string(), "0")
        + &format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    std::fs::write(&f, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("listen")).unwrap() + 1;
    let msg = assert_config_exit("run", &f, line, "metrics.listen");
    eprintln!("{msg}");
}

#[test]
fn network_paths_and_their_keys_are_checked_where_written() {
    let fc = |path: &str, extra: &str| {
        GOOD.replace(
            "[stream]",
            &format!("[[sensor]]\nname = \"fc\"\nkind = \"flight_controller\"\nprotocol = \"mavlink\"\npath = \"{path}\"\n{extra}\n[stream]"),
        )
    };
    let c = Config::parse(
        &fc(
            "udp://127.0.0.1:14551",
            "allow_from = [\"127.0.0.1\"]\nsystem_id = 1",
        ),
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.sensors[1].transport.device(), "udp://127.0.0.1:14551");
    let cases = [
        (
            fc("udp://127.0.0.1:14551", "baud = 57600"),
            "sensor[1].baud",
            "serial devices only",
        ),
        (
            fc("tcp://127.0.0.1:5760", "allow_from = [\"127.0.0.1\"]"),
            "sensor[1].allow_from",
            "udp:// inputs only",
        ),
        (
            fc("udp://localhost:14551", ""),
            "sensor[1].path",
            "udp://IP:PORT",
        ),
        (
            fc("tcp://127.0.0.1", ""),
            "sensor[1].path",
            "tcp://HOST:PORT",
        ),
        (
            fc("serial:///dev/ttyS0", ""),
            "sensor[1].path",
            "unknown scheme",
        ),
        (fc("/dev/ttyS0", ""), "sensor[1].path", "needs `baud`"),
        (
            fc("udp://127.0.0.1:14551", "system_id = 0"),
            "sensor[1].system_id",
            "1 to 255",
        ),
    ];
    for (src, key, why) in cases {
        let e = err(&src);
        assert!(
            e.contains(key) && e.contains(why),
            "want {key} ({why}): {e}"
        );
    }
}

#[test]
fn a_signing_key_file_others_can_read_is_refused_at_its_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let key = dir.path().join("mavlink.key");
    std::fs::write(&key, "passphrase\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let src = GOOD.replace(
        "[stream]",
        &format!(
            "[[sensor]]\nname = \"fc\"\nkind = \"flight_controller\"\nprotocol = \"mavlink\"\npath = \"udp://127.0.0.1:14551\"\nsigning_key_file = \"{}\"\n\n[stream]",
            key.display()
        ),
    );
    let f = dir.path().join("signed.toml");
    std::fs::write(&f, &src).unwrap();
    let line = src
        .lines()
        .position(|l| l.starts_with("signing_key_file"))
        .unwrap()
        + 1;
    let msg = assert_config_exit("check-config", &f, line, "sensor[1].signing_key_file");
    assert!(msg.contains("chmod 600"), "{msg}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = Config::load(&f).unwrap();
    let o = c.sensors[1].protocol.options::<Mavlink>().unwrap();
    assert!(o.signing.is_some());
}

#[test]
fn hostile_values_are_config_errors_at_their_key_never_a_panic() {
    let two_on_one_port = GOOD.replace(
        "[stream]",
        "[[sensor]]\nname = \"gps2\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"/dev/serial/by-id/usb-u-blox_GNSS_receiver-if00\"\nbaud = 9600\n\n[stream]",
    );
    let cases = [
        (
            GOOD.to_owned()
                + "\n[udp]\ntarget = \"127.0.0.1:14560\"\nmax_rate = { gps = 1e-300 }\n",
            "udp.max_rate.gps",
            "rate in Hz",
        ),
        (
            edit(
                "shutdown_grace = \"3s\"",
                "shutdown_grace = \"3s\"\nhealth_interval = \"1ns\"",
            ),
            "daemon.health_interval",
            "at least 10ms",
        ),
        (
            edit(
                "shutdown_grace = \"3s\"",
                "shutdown_grace = \"3s\"\nhost_clock = \"rtc\"",
            ),
            "daemon.host_clock",
            "must be one of ntp, trusted, untrusted",
        ),
        (
            two_on_one_port,
            "sensor[1].path",
            "already read by sensor `gps`",
        ),
    ];
    for (src, key, why) in cases {
        let e = err(&src);
        assert!(
            e.contains(key) && e.contains(why),
            "want {key} ({why}): {e}"
        );
    }
}
