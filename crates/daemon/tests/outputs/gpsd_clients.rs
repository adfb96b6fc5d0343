//! The `[gpsd]` sink against gpsd clients no one here wrote: `gpspipe -w`
//! and the Python `gps` module (Debian's `gpsd-clients`, `python3-gps`,
//! installed when missing) and `cgps -s` under tmux read the real
//! binary's gpsd port while it reads the simulated GPS receiver and
//! flight controller on ptys (`gpspipe -r` its sentences as received,
//! `gpsmon -a` those and the time offsets of `"pps":true`, `gpxlogger` a
//! track with each point's sky; `gpspipe -w` a u-blox receiver speaking
//! UBX too); and
//! hostile clients (a megabyte without an end, ten thousand polls in one
//! write, bad JSON, two hundred connections) get gpsd's answers without
//! disturbing a watcher.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dronetel_testkit::harness::{Harness, Kind, Setup};
use dronetel_testkit::ports::connect_when_listening;
use dronetel_testkit::DEADLINE;
use firmware_sim::GpsProtocol;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const PYTHON: &str = "/usr/bin/python3";

fn ensure_clients() {
    dronetel_testkit::apt::ensure("gpsd-clients", || Path::new("/usr/bin/gpspipe").exists());
    dronetel_testkit::apt::ensure("python3-gps", || {
        std::process::Command::new(PYTHON)
            .args(["-c", "import gps"])
            .status()
            .is_ok_and(|s| s.success())
    });
}

/// The daemon on the simulated GPS and flight controller with `[gpsd]`
/// on a port the kernel picks, and that port.
async fn start(tag: &str, max_clients: usize) -> (Harness, u16) {
    let h = Harness::start(
        crate::DRONETEL,
        tag,
        Setup {
            sensors: &[Kind::Gps, Kind::Fc],
            extra_sections: format!(
                "[gpsd]\nlisten = \"127.0.0.1:0\"\nmax_clients = {max_clients}\n"
            ),
            ..Setup::default()
        },
    )
    .await;
    let port = h.logged_addr("gpsd protocol listening").await.port();
    (h, port)
}

/// The daemon on the simulated GPS receiver alone, speaking `protocol`
/// and read as `decoder`, with `[gpsd]` on a port the kernel picks.
async fn start_receiver(tag: &str, protocol: GpsProtocol, decoder: &'static str) -> (Harness, u16) {
    let h = Harness::start(
        crate::DRONETEL,
        tag,
        Setup {
            sensors: &[Kind::Gps],
            gps_protocol: protocol,
            gps_decoder: decoder,
            extra_sections: "[gpsd]\nlisten = \"127.0.0.1:0\"\n".to_owned(),
            ..Setup::default()
        },
    )
    .await;
    let port = h.logged_addr("gpsd protocol listening").await.port();
    (h, port)
}

/// A raw gpsd client: one JSON object per line.
struct Raw {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Raw {
    async fn connect(port: u16) -> Raw {
        let s = connect_when_listening(port, "the gpsd port").await;
        let (r, w) = s.into_split();
        Raw {
            lines: BufReader::new(r).lines(),
            w,
        }
    }

    /// The next object, `None` at the end of the connection.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(DEADLINE, self.lines.next_line())
            .await
            .expect("no line within the deadline")
            .unwrap()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
    }

    /// The next object of `class`.
    async fn until(&mut self, class: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.next().await.expect("connection ended");
            if v["class"] == class {
                return v;
            }
            assert!(t0.elapsed() < DEADLINE, "no {class} within {DEADLINE:?}");
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.unwrap();
    }
}

/// What `gpspipe FLAG -n 60` on `port` printed.
async fn gpspipe(flag: &str, port: u16) -> String {
    let out = tokio::time::timeout(
        DEADLINE * 2,
        Command::new("gpspipe")
            .args([flag, "-n", "60", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("gpspipe did not finish")
    .unwrap();
    assert!(out.status.success(), "gpspipe {flag}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn millis(time: &str) -> i64 {
    let t = humantime::parse_rfc3339(time).unwrap();
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpspipe_and_python_gps_read_every_gps_source() {
    ensure_clients();
    let (h, port) = start("gpsd-clients", 16).await;
    let gps_path = h.dir.path().join("dev/gps").display().to_string();
    let fc_path = h.dir.path().join("dev/fc").display().to_string();
    // Connected once so the port is known to be up.
    let mut first = Raw::connect(port).await;
    assert_eq!(first.next().await.unwrap()["class"], "VERSION");
    drop(first);

    let objects: Vec<Value> = gpspipe("-w", port)
        .await
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects[0]["class"], "VERSION", "{:?}", objects[0]);
    assert_eq!(objects[0]["proto_major"], 3);
    let devices = objects.iter().find(|o| o["class"] == "DEVICES").unwrap();
    let paths: Vec<&str> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [gps_path.as_str(), fc_path.as_str()]);
    assert_eq!(devices["devices"][0]["driver"], "NMEA0183");
    assert_eq!(devices["devices"][0]["bps"], 115_200);
    let watch = objects.iter().find(|o| o["class"] == "WATCH").unwrap();
    assert_eq!(
        (watch["enable"].clone(), watch["json"].clone()),
        (true.into(), true.into())
    );

    // Every TPV of the receiver equals what the simulator sent.
    let mut compared = 0;
    for o in objects
        .iter()
        .filter(|o| o["class"] == "TPV" && o["device"] == gps_path.as_str())
    {
        assert_eq!(o["mode"], 3, "{o}");
        let truth = h
            .gps_truth_at(millis(o["time"].as_str().unwrap()))
            .await
            .unwrap();
        let lat = o["lat"].as_f64().unwrap();
        let lon = o["lon"].as_f64().unwrap();
        assert!(
            (lat - truth.latitude_deg.unwrap()).abs() < 1e-7,
            "{o} vs {truth:?}"
        );
        assert!(
            (lon - truth.longitude_deg.unwrap()).abs() < 1e-7,
            "{o} vs {truth:?}"
        );
        assert!((o["altMSL"].as_f64().unwrap() - truth.altitude_msl_m.unwrap()).abs() < 0.01);
        compared += 1;
    }
    assert!(
        compared >= 10,
        "only {compared} receiver TPVs in {objects:?}"
    );
    let sky = objects
        .iter()
        .find(|o| o["class"] == "SKY" && o["device"] == gps_path.as_str())
        .unwrap();
    assert!(sky["satellites"].as_array().unwrap().len() >= 4, "{sky}");
    assert!(sky["uSat"].as_u64().unwrap() >= 4, "{sky}");

    // The flight controller's GPS is its own device.
    let mut fc = Raw::connect(port).await;
    fc.send(
        format!("?WATCH={{\"enable\":true,\"json\":true,\"device\":\"{fc_path}\"}};").as_bytes(),
    )
    .await;
    let tpv = fc.until("TPV").await;
    assert_eq!(tpv["device"], fc_path.as_str(), "{tpv}");
    assert!(tpv["lat"].is_f64(), "{tpv}");

    let script = format!(
        r#"
import gps, json
s = gps.gps(host="127.0.0.1", port="{port}", mode=gps.WATCH_ENABLE | gps.WATCH_JSON)
tpv = sky = 0
for _ in range(500):
    r = s.next()
    c = r.get("class")
    if c == "TPV" and r.get("device") == "{gps_path}" and r.get("mode", 0) == 3:
        tpv += 1
    if c == "SKY" and len(r.get("satellites", [])) > 0:
        sky += 1
    if tpv >= 5 and sky >= 5:
        break
print(json.dumps({{"tpv": tpv, "sky": sky, "lat": s.fix.latitude, "lon": s.fix.longitude,
                  "mode": s.fix.mode, "used": s.satellites_used}}))
"#
    );
    let out = tokio::time::timeout(
        DEADLINE * 2,
        Command::new(PYTHON).args(["-c", &script]).output(),
    )
    .await
    .expect("the Python client did not finish")
    .unwrap();
    assert!(out.status.success(), "python gps: {out:?}");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        got["tpv"].as_u64().unwrap() >= 5 && got["sky"].as_u64().unwrap() >= 5,
        "{got}"
    );
    assert_eq!(got["mode"], 3, "{got}");
    assert!(got["used"].as_u64().unwrap() >= 4, "{got}");
    let lat = got["lat"].as_f64().unwrap();
    assert!(lat.abs() > 1.0 && lat.abs() <= 90.0, "{got}");
}

/// A u-blox receiver speaking UBX (`protocol = "ublox"`, the simulator's
/// `--gps-protocol ubx`) is a gpsd device like an NMEA one: `gpspipe -w`
/// lists it with gpsd's `u-blox` driver, and its TPVs equal the
/// simulator's fixes, its SKY the NAV-SAT sky with the used satellites.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpspipe_reads_a_ublox_receiver() {
    ensure_clients();
    let (h, port) = start_receiver("gpsd-ubx", GpsProtocol::Ubx, "ublox").await;
    Raw::connect(port).await;
    let objects: Vec<Value> = gpspipe("-w", port)
        .await
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let devices = objects.iter().find(|o| o["class"] == "DEVICES").unwrap();
    assert_eq!(devices["devices"][0]["driver"], "u-blox", "{devices}");
    let mut compared = 0;
    for o in objects.iter().filter(|o| o["class"] == "TPV") {
        assert_eq!(o["mode"], 3, "{o}");
        let truth = h
            .gps_truth_at(millis(o["time"].as_str().unwrap()))
            .await
            .unwrap();
        for (k, want) in [("lat", truth.latitude_deg), ("lon", truth.longitude_deg)] {
            assert!(
                (o[k].as_f64().unwrap() - want.unwrap()).abs() < 1e-7,
                "{o} vs {truth:?}"
            );
        }
        assert!((o["altMSL"].as_f64().unwrap() - truth.altitude_msl_m.unwrap()).abs() < 0.01);
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} TPVs in {objects:?}");
    let sky = objects.iter().find(|o| o["class"] == "SKY").unwrap();
    let used = sky["satellites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["used"] == true)
        .count();
    assert!(used >= 4 && sky["uSat"] == used, "{sky}");
    assert!(sky["xdop"].as_f64().is_some_and(|d| d > 0.0), "{sky}");
}

/// True when `line` is `$...*hh` with `hh` the XOR of what is between.
fn checksum_ok(line: &str) -> bool {
    let Some((body, sum)) = line.strip_prefix('$').and_then(|l| l.rsplit_once('*')) else {
        return false;
    };
    let xor = body.bytes().fold(0u8, |a, b| a ^ b);
    u8::from_str_radix(sum.trim_end(), 16) == Ok(xor)
}

/// `gpspipe -r` (`"nmea":true`) prints the receiver's sentences as
/// received: whole, checksums intact, the simulated position in its GGA;
/// nothing of the flight controller's binary MAVLink.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpspipe_r_prints_the_sentences_as_received() {
    ensure_clients();
    let (h, port) = start("gpsd-raw", 16).await;
    let mut first = Raw::connect(port).await;
    assert_eq!(first.next().await.unwrap()["class"], "VERSION");
    drop(first);
    let text = gpspipe("-r", port).await;
    let sentences: Vec<&str> = text.lines().filter(|l| !l.starts_with('{')).collect();
    assert!(sentences.len() >= 40, "{text}");
    for s in &sentences {
        assert!(checksum_ok(s), "not a whole sentence: {s:?}\n{text}");
    }
    let gga: Vec<&&str> = sentences
        .iter()
        .filter(|s| s.get(3..6) == Some("GGA"))
        .collect();
    assert!(!gga.is_empty() && sentences.iter().any(|s| s.get(3..6) == Some("RMC")));
    // The GGA latitude (ddmm.mmmm) is the simulator's.
    let f: Vec<&str> = gga[0].split(',').collect();
    let ddmm: f64 = f[2].parse().unwrap();
    let lat = (ddmm / 100.0).trunc() + (ddmm % 100.0) / 60.0;
    let lat = if f[3] == "S" { -lat } else { lat };
    let truth = h.truth.lock().unwrap().values().next().cloned().unwrap();
    assert!(
        (lat - truth.latitude_deg.unwrap()).abs() < 0.05,
        "{lat} vs {truth:?}"
    );

    // JSON and sentences together on one connection.
    let mut both = Raw::connect(port).await;
    both.send(b"?WATCH={\"enable\":true,\"json\":true,\"nmea\":true};")
        .await;
    let watch = both.until("WATCH").await;
    assert_eq!(
        (watch["nmea"].clone(), watch["json"].clone()),
        (true.into(), true.into())
    );
    let (mut tpv, mut nmea) = (0, 0);
    let t0 = Instant::now();
    while tpv < 3 || nmea < 10 {
        let line = tokio::time::timeout(DEADLINE, both.lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if line.starts_with('$') {
            assert!(checksum_ok(&line), "{line}");
            nmea += 1;
        } else if line.contains("\"class\":\"TPV\"") {
            tpv += 1;
        }
        assert!(t0.elapsed() < DEADLINE);
    }
}

/// A gpsd client program with its output and errors piped; killed when
/// dropped.
fn client(program: &str, args: &[&str]) -> tokio::process::Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// `gpxlogger` on the gpsd port of a daemon with the GPS receiver alone
/// logs a track of the simulated flight in which every point, the first
/// one included, carries the fix's satellites and DOPs: it takes them
/// from the `SKY` it got before the point's `TPV`, so a cycle's `SKY` has
/// to come first, as from gpsd. (Not `host:port:device`: libgps cuts a
/// `?WATCH` at 80 bytes, which a test's device path overflows.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpxlogger_logs_points_with_their_sky() {
    ensure_clients();
    let (h, port) = start_receiver("gpsd-gpx", GpsProtocol::Nmea, "nmea").await;
    // The decoder's first cycles, before it has learned where the
    // receiver's cycle ends, may be reported in parts (as gpsd reports
    // them): start once whole cycles flow, a SKY with its satellites.
    let mut w = Raw::connect(port).await;
    w.send(b"?WATCH={\"enable\":true,\"json\":true};").await;
    for _ in 0..2 {
        while w.until("SKY").await["satellites"].is_null() {}
    }
    drop(w);
    let mut gpx = client("gpxlogger", &[&format!("127.0.0.1:{port}")]);
    let mut lines = BufReader::new(gpx.stdout.take().unwrap()).lines();
    let mut points: Vec<String> = Vec::new();
    let mut point = String::new();
    let mut seen = String::new();
    while points.len() < 3 {
        let line = tokio::time::timeout(DEADLINE * 2, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{} points in {:?}", points.len(), DEADLINE * 2))
            .unwrap();
        let Some(line) = line else {
            let mut err = String::new();
            let _ = gpx.stderr.take().unwrap().read_to_string(&mut err).await;
            panic!("gpxlogger ended: {err}\n{seen}")
        };
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("<trkpt") || !point.is_empty() {
            point.push_str(line.trim());
        }
        if line.contains("</trkpt>") {
            points.push(std::mem::take(&mut point));
        }
    }
    let truth = h.truth.lock().unwrap().values().next().cloned().unwrap();
    for p in &points {
        assert!(
            p.contains("<fix>3d</fix>") && p.contains("<sat>") && p.contains("<hdop>"),
            "{p}"
        );
        let lat: f64 = p
            .split("lat=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((lat - truth.latitude_deg.unwrap()).abs() < 0.05, "{p}");
    }
}

/// `gpsmon -a` (no curses) on the gpsd port: it asks only
/// `?WATCH={"raw":2,"pps":true}` (no `enable`, which gpsd takes as true)
/// and prints the receiver's sentences as received and each `TOFF` it
/// gets (`TOFF= host-clock real= fix-time`): the simulator's fix times,
/// taken by the daemon's host clock within the cycle's read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpsmon_shows_the_sentences_and_time_offsets() {
    ensure_clients();
    let (_h, port) = start("gpsd-gpsmon", 16).await;
    Raw::connect(port).await;
    let mut gpsmon = client("gpsmon", &["-a", &format!("127.0.0.1:{port}")]);
    let mut out = BufReader::new(gpsmon.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(gpsmon.stderr.take().unwrap()).lines();
    let (mut sentences, mut offsets, mut seen) = (0, Vec::new(), String::new());
    let t0 = Instant::now();
    while sentences < 20 || offsets.len() < 3 {
        let line = tokio::select! {
            l = out.next_line() => l,
            l = err.next_line() => l,
            () = tokio::time::sleep(DEADLINE * 2 - t0.elapsed().min(DEADLINE * 2)) => {
                panic!("{sentences} sentences, {} TOFF in {:?}:\n{seen}", offsets.len(), DEADLINE * 2)
            }
        };
        let Some(line) = line.unwrap() else {
            panic!("gpsmon ended:\n{seen}")
        };
        seen.push_str(&line);
        seen.push('\n');
        // Packets are printed as "(length) packet" on stdout, the time
        // offsets as "TOFF= clock real= time" on stderr.
        if let Some(i) = line.find("TOFF=") {
            let f: Vec<&str> = line[i..].split_whitespace().collect();
            let clock: f64 = f[1].parse().unwrap();
            let real: f64 = f[3].parse().unwrap();
            offsets.push(clock - real);
        } else if line
            .split_once(") $")
            .is_some_and(|(_, s)| checksum_ok(&format!("${s}")))
        {
            sentences += 1;
        }
    }
    // The simulator stamps each fix with the host time it writes it at.
    for o in &offsets {
        assert!(o.abs() < 1.0, "host clock - fix time {o} s:\n{seen}");
    }
    assert!(seen.contains("\"pps\":true"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_errors_and_a_watcher_is_unaffected() {
    let (h, port) = start("gpsd-hostile", 16).await;
    let mut watcher = Raw::connect(port).await;
    watcher
        .send(b"?WATCH={\"enable\":true,\"json\":true};")
        .await;
    let mut first = watcher.until("TPV").await;
    while !first["lat"].is_f64() {
        first = watcher.until("TPV").await;
    }

    // Requests gpsd does not know, bad JSON, a device change.
    let mut c = Raw::connect(port).await;
    assert_eq!(c.next().await.unwrap()["class"], "VERSION");
    c.send(b"?FOO;\n?WATCH={\"enable\":tru};?DEVICE={\"path\":\"/dev/x\",\"bps\":9600};?VERSION;")
        .await;
    let e = c.next().await.unwrap();
    assert_eq!(
        (e["class"].as_str(), e["message"].as_str()),
        (Some("ERROR"), Some("Unrecognized request '?FOO'"))
    );
    let e = c.next().await.unwrap();
    assert!(
        e["message"].as_str().unwrap().starts_with("Invalid WATCH"),
        "{e}"
    );
    let e = c.next().await.unwrap();
    assert_eq!(e["class"], "ERROR", "{e}");
    assert_eq!(c.next().await.unwrap()["class"], "VERSION");

    // A megabyte without ';' or newline: one ERROR, the connection lives.
    let mut big = Raw::connect(port).await;
    assert_eq!(big.next().await.unwrap()["class"], "VERSION");
    big.send(&vec![b'x'; 1 << 20]).await;
    big.send(b";?VERSION;").await;
    let e = big.next().await.unwrap();
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Request too long"),
        "{e}"
    );
    assert_eq!(big.next().await.unwrap()["class"], "VERSION");

    // Ten thousand polls in one write: ten thousand POLL answers.
    let mut polls = Raw::connect(port).await;
    assert_eq!(polls.next().await.unwrap()["class"], "VERSION");
    let many = "?POLL;".repeat(10_000);
    let Raw { mut lines, mut w } = polls;
    let writer = tokio::spawn(async move {
        w.write_all(many.as_bytes()).await.unwrap();
        w
    });
    let mut answered = 0;
    while answered < 10_000 {
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["class"], "POLL");
        // A client that never watched still gets the device's last fix
        // (for the flight controller, GPS_RAW_INT's or the fused
        // GLOBAL_POSITION_INT's, whichever came last: both have a position).
        let tpvs = v["tpv"].as_array().unwrap();
        let has = tpvs
            .iter()
            .any(|t| t["class"] == "TPV" && t["device"] == first["device"] && t["lat"].is_f64());
        assert!(has, "answer {answered}: first TPV {first}\nPOLL {v}");
        answered += 1;
    }
    let _w = writer.await.unwrap();

    // Two hundred more connections: past max_clients they are closed at
    // once, and the watcher keeps getting its reports.
    let mut conns = Vec::new();
    for _ in 0..200 {
        conns.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    let mut served = 0;
    for s in &mut conns {
        let mut b = [0u8; 16];
        if let Ok(Ok(n)) = tokio::time::timeout(DEADLINE, s.read(&mut b)).await {
            served += usize::from(n > 0);
        }
    }
    assert!(served <= 16, "{served} served past max_clients");
    let t0 = Instant::now();
    let mut tpvs = 0;
    while tpvs < 10 {
        if watcher.next().await.unwrap()["class"] == "TPV" {
            tpvs += 1;
        }
        assert!(t0.elapsed() < DEADLINE);
    }
    drop(conns);
    let pid = h.daemon.id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    assert!(hwm_kib < 64 * 1024, "peak RSS {hwm_kib} KiB");
}

/// The number after `label` on a line of `pane` (`Latitude:  47.397 N`)
/// and the rest of the line after it; `None` where cgps shows `n/a`.
fn pane_value<'a>(pane: &'a str, label: &str) -> Option<(f64, &'a str)> {
    let line = pane.lines().find(|l| l.contains(label))?;
    let rest = &line[line.find(label)? + label.len()..];
    let rest = rest.trim_start_matches([':', ' ']);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    Some((rest[..end].parse().ok()?, &rest[end..]))
}

/// The number after `label` and the letter after it (a hemisphere).
fn pane_number(pane: &str, label: &str) -> Option<(f64, String)> {
    let (v, rest) = pane_value(pane, label)?;
    Some((v, rest.trim_start().chars().next()?.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgps_under_tmux_shows_the_simulated_position() {
    ensure_clients();
    dronetel_testkit::apt::ensure("tmux", || Path::new("/usr/bin/tmux").exists());
    let (h, port) = start("gpsd-cgps", 16).await;
    Raw::connect(port).await;
    let session = format!("dronetel-cgps-{port}");
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &session])
            .args(args)
            .output()
            .unwrap()
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "40",
        "-s",
        &session,
        &format!("TERM=xterm cgps -s 127.0.0.1:{port}"),
    ]);
    assert!(started.status.success(), "{started:?}");
    let t0 = Instant::now();
    let mut pane;
    let shown = loop {
        pane = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout)
            .into_owned();
        // The DOPs gpsd computes from the sky view (`SKY`'s xdop, ydop,
        // tdop, gdop) are shown too, not `n/a`.
        let dops = ["(XDOP, EPX)", "(YDOP, EPY)", "(TDOP)", "(GDOP)"]
            .iter()
            .all(|l| pane_value(&pane, l).is_some_and(|(v, _)| v > 0.0));
        if let (Some(lat), Some(lon), true) = (
            pane_number(&pane, "Latitude"),
            pane_number(&pane, "Longitude"),
            dops,
        ) {
            break (lat, lon);
        }
        if t0.elapsed() > DEADLINE {
            break ((f64::NAN, String::new()), (f64::NAN, String::new()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tmux(&["kill-server"]);
    let ((lat, ns), (lon, ew)) = shown;
    let truth = h
        .truth
        .lock()
        .unwrap()
        .values()
        .next()
        .cloned()
        .expect("simulator truth");
    let (tlat, tlon) = (truth.latitude_deg.unwrap(), truth.longitude_deg.unwrap());
    let signed_lat = if ns == "S" { -lat } else { lat };
    let signed_lon = if ew == "W" { -lon } else { lon };
    // The simulated drone flies within a few hundred metres of home.
    assert!(
        (signed_lat - tlat).abs() < 0.05 && (signed_lon - tlon).abs() < 0.05,
        "cgps shows {lat} {ns} {lon} {ew} (NaN: not the position and all four DOPs in time), the simulator is at {tlat} {tlon}:\n{pane}"
    );
}
