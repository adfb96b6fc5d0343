//! Config loader, structure-aware: a valid skeleton (every section, three
//! sensors) whose values come from lists of extremes the input picks
//! (durations from 0 to centuries and 1ns, rates from 5e-324 to 1e308,
//! nan and inf, integers at their type's edges, empty and huge strings,
//! duplicate device paths). Loading never panics (the panics this target
//! exists for were float-to-Duration conversions of `max_rate`), and every
//! error is one line naming the file.
#![no_main]

const DURATIONS: &[&str] = &[
    "\"1ns\"", "\"9ms\"", "\"10ms\"", "\"1s\"", "\"0s\"", "\"1day\"", "\"1day 1ns\"",
    "\"584542046090years\"", "\"18446744073709551615s\"", "\"-1s\"", "\"\"", "5", "1e-300",
];
const FLOATS: &[&str] = &[
    "5e-324", "1e-300", "1e-10", "0.001", "1.0", "999.999", "1000.0", "1000.0000001",
    "1e308", "0.0", "-0.0", "-1.0", "nan", "inf", "-inf", "1", "0",
];
const INTS: &[&str] = &[
    "0", "1", "255", "256", "65535", "65536", "4294967295", "4294967296",
    "9223372036854775807", "-1", "-9223372036854775808", "115200", "1.5", "64", "1400",
    "9600",
];
const STRINGS: &[&str] = &[
    "\"gps\"", "\"\"", "\"a b\"", "\"\\u0000\"", "\"\\n\"", "\"é\"", "\"../../etc\"",
];
const PATHS: &[&str] = &[
    "\"/dev/ttyUSB0\"", "\"/dev/ttyUSB1\"", "\"\"", "\"udp://127.0.0.1:0\"",
    "\"tcp://127.0.0.1:65535\"", "\"udp://[::1]:1\"", "\"tcp://:0\"", "\"udp://1.2.3.4:99999\"",
];
const ADDRS: &[&str] = &[
    "\"127.0.0.1:0\"", "\"127.0.0.1:9\"", "\"127.0.0.1:65535\"", "\"[::1]:1\"", "\"0.0.0.0:1\"", "\"x:1\"",
    "\"255.255.255.255:9\"", "\"224.0.0.1:5\"",
];

const SKELETON: &str = r#"[daemon]
vehicle_id = {S}
shutdown_grace = {D}
health_interval = {D}

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = {P}
baud = {I}
stale_after = {D}
idle_gap = {D}

[[sensor]]
name = "fc"
kind = "flight_controller"
protocol = "mavlink"
path = {P}
baud = {I}
system_id = {I}
stale_after = {D}

[[sensor]]
name = "tracker"
kind = "tracking"
protocol = "tracker"
path = {P}
baud = {I}

[stream]
tcp = {A}
max_clients = {I}
client_queue = {I}
max_client_drops = {I}
write_timeout = {D}

[udp]
target = {A}
max_datagram = {I}
multicast_ttl = {I}
max_rate = { gps = {F}, health = {F} }

[record]
dir = "/nonexistent/fuzz"
max_file_size = {I}
max_file_duration = {D}
min_free_space = {I}
queue = {I}
max_rate = { tracking = {F} }

[mqtt]
url = "mqtt://127.0.0.1"
queue = {I}
keep_alive = {D}
max_rate = { gps = {F}, battery = {F} }

[gpsd]
listen = {A}
max_clients = {I}
write_timeout = {D}

[foxglove]
listen = {A}
max_clients = {I}
max_client_message = {I}
write_timeout = {D}

[metrics]
listen = {A}
"#;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut picks = data.iter().copied().cycle();
    if data.is_empty() {
        return;
    }
    let mut text = String::with_capacity(SKELETON.len() * 2);
    let mut rest = SKELETON;
    while let Some(i) = rest.find('{') {
        let (head, tail) = rest.split_at(i);
        text.push_str(head);
        // `{X}` slots; any other brace (the inline tables) is copied.
        let list = match tail.get(..3) {
            Some("{D}") => DURATIONS,
            Some("{F}") => FLOATS,
            Some("{I}") => INTS,
            Some("{S}") => STRINGS,
            Some("{P}") => PATHS,
            Some("{A}") => ADDRS,
            _ => {
                text.push('{');
                rest = &tail[1..];
                continue;
            }
        };
        let pick = usize::from(picks.next().unwrap_or(0));
        text.push_str(list[pick % list.len()]);
        rest = &tail[3..];
    }
    text.push_str(rest);
    match dronetel::Config::parse(&text, "fuzz.toml") {
        Ok(_) => {}
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.toml"), "error without the file: {msg}");
            assert!(!msg.contains('\n'), "error on more than one line: {msg}");
        }
    }
});
