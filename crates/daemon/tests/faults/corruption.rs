//! Fault suite, point 2: about 1 % of the bytes of every sensor corrupted
//! (garbage, bit flips, dropped bytes, truncated and spliced messages) for
//! 60 s of sensor time, sent at 10x the rate so it takes 6 s of real time.
//! The daemon does not panic, delivers every message the simulator sent
//! untouched (compared with the simulator's truth), and its error counters
//! match the injected faults within tolerance.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use dronetel_proto::v1::{frame::Body, SensorHealth};
use dronetel_testkit::frames::{errors, health_until};
use dronetel_testkit::harness::{assert_no_panic, Harness, Kind, Setup};
use dronetel_testkit::DEADLINE;
use firmware_sim::{FaultRates, FaultStats};

use crate::DRONETEL;

/// Sensor time simulated under faults.
const SIMULATED: Duration = Duration::from_secs(60);
/// Emission speed-up (a burst for the whole phase).
const SPEED: u32 = 10;

/// Per-message fault probability of each device, chosen so that about 1 %
/// of its bytes are corrupted (messages differ in length: a truncated
/// tracker frame loses far more bytes than a truncated sentence).
fn fault_probability(kind: Kind) -> f64 {
    match kind {
        Kind::Gps => 0.03,
        Kind::Fc => 0.035,
        Kind::Tracker => 0.04,
    }
}

/// Nominal cycles per second of each device.
fn nominal_rate(kind: Kind) -> u64 {
    match kind {
        Kind::Gps => 10,
        Kind::Fc => 10,
        Kind::Tracker => 30,
    }
}

fn ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

/// Latitude, longitude and altitude of a fix.
type Position = (Option<f64>, Option<f64>, Option<f64>);

/// What the stream client got during the run.
#[derive(Default)]
struct Delivered {
    gps: HashMap<i64, Position>,
    fc_gps: HashSet<(i64, String)>,
    tracker: HashMap<u32, dronetel_proto::v1::TrackingUpdate>,
    first_gps_ms: Option<i64>,
    first_fc_ms: Option<i64>,
    first_tracker: Option<u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_percent_corruption_loses_only_the_touched_messages() {
    let _serial = crate::one_at_a_time().await;
    let h = Harness::start(
        DRONETEL,
        "corruption",
        Setup {
            sensors: Kind::ALL,
            flight_offset: Duration::from_secs(60),
            daemon_options: "health_interval = \"200ms\"",
            // The burst must not make the test's own reader lag.
            stream_options: "client_queue = 65536",
            ..Setup::default()
        },
    )
    .await;
    let mut client = h.client().await;
    let mut baseline: HashMap<Kind, SensorHealth> = HashMap::new();
    for &k in Kind::ALL {
        let hl = health_until(&mut client, k.name(), "first messages", |x| {
            x.messages_ok > 0
        })
        .await;
        baseline.insert(k, hl);
    }
    let start: HashMap<Kind, (u64, FaultStats)> = Kind::ALL
        .iter()
        .map(|&k| {
            (
                k,
                (h.device(k).stats().cycles_sent, h.device(k).fault_stats()),
            )
        })
        .collect();
    for &k in Kind::ALL {
        assert!(h
            .device(k)
            .set_fault_rates(FaultRates::mixed(fault_probability(k))));
        h.device(k).set_rate_multiplier(SPEED);
    }
    let began = Instant::now();

    // Read everything while the devices send 60 s worth of cycles.
    let mut got = Delivered::default();
    let done = |k: Kind| {
        h.device(k).stats().cycles_sent - start[&k].0 >= SIMULATED.as_secs() * nominal_rate(k)
    };
    let mut finished: HashSet<Kind> = HashSet::new();
    while finished.len() < Kind::ALL.len() {
        for &k in Kind::ALL {
            if !finished.contains(&k) && done(k) {
                h.device(k).set_fault_rates(FaultRates::default());
                h.device(k).set_rate_multiplier(1);
                h.device(k).set_stalled(true);
                finished.insert(k);
            }
        }
        assert!(began.elapsed() < Duration::from_secs(60), "run too slow");
        record(&mut got, client.next().await.expect("stream open"));
    }
    let real = began.elapsed();

    // Wait until the daemon has read every byte sent, then compare counters.
    let mut lines = Vec::new();
    for &k in Kind::ALL {
        let sent = h.device(k).stats().bytes_sent;
        let t0 = Instant::now();
        let last = loop {
            let f = client.next().await.expect("stream open");
            let hl = match (&f.body, f.sensor == k.name()) {
                (Some(Body::Health(hl)), true) => Some(hl.clone()),
                _ => None,
            };
            record(&mut got, f);
            if let Some(hl) = hl.filter(|x| x.bytes_read >= sent) {
                break hl;
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "{k:?}: daemon never read all {sent} bytes"
            );
        };
        assert_eq!(
            last.bytes_read, sent,
            "{k:?}: the daemon read more than was sent"
        );
        let injected = diff(h.device(k).fault_stats(), start[&k].1);
        let counted = errors(&last) - errors(&baseline[&k]);
        let faults = injected.message_faults();
        let corrupted = injected.bytes_corrupted as f64 / sent as f64;
        lines.push(format!(
            "{k:?}: {} cycles ({} touched), {} messages touched / {} clean, {faults} faults \
             ({} garbage, {} flips, {} drops, {} truncated, {} spliced), {:.2} % of bytes corrupted; \
             daemon counted {counted} errors ({} checksum, {} framing, {} decode)",
            h.device(k).stats().cycles_sent - start[&k].0,
            injected.cycles_touched,
            injected.messages_touched,
            injected.messages_clean,
            injected.garbage,
            injected.bit_flips,
            injected.dropped_bytes,
            injected.truncated,
            injected.spliced,
            corrupted * 100.0,
            last.checksum_errors - baseline[&k].checksum_errors,
            last.framing_errors - baseline[&k].framing_errors,
            last.decode_errors - baseline[&k].decode_errors,
        ));
        eprintln!("{}", lines.last().unwrap());
        assert!(
            (0.004..=0.025).contains(&corrupted),
            "{k:?}: {:.3} % of bytes corrupted, not about 1 %",
            corrupted * 100.0
        );
        assert!(
            faults >= 10,
            "{k:?}: too few faults for a comparison: {faults}"
        );
        // Every fault costs at least one error, except garbage in front of a
        // MAVLink frame: the reader skips junk without a magic byte
        // silently. A fault can cost two (a flip that makes a `$` or a
        // `0x00` splits a message in two).
        let undetectable = if k == Kind::Fc { injected.garbage } else { 0 };
        let low = (faults - undetectable) as f64 * 0.95;
        let high = faults as f64 * 1.5;
        assert!(
            (low..=high).contains(&(counted as f64)),
            "{k:?}: {counted} errors counted for {faults} faults (want {low:.0}..={high:.0})"
        );
    }
    eprintln!("60 s of sensor time at {SPEED}x took {real:?}");
    compare_with_truth(&h, &got).await;
    assert_no_panic(&h);
}

fn diff(a: FaultStats, b: FaultStats) -> FaultStats {
    FaultStats {
        garbage: a.garbage - b.garbage,
        bit_flips: a.bit_flips - b.bit_flips,
        dropped_bytes: a.dropped_bytes - b.dropped_bytes,
        truncated: a.truncated - b.truncated,
        spliced: a.spliced - b.spliced,
        foreign: a.foreign - b.foreign,
        messages_touched: a.messages_touched - b.messages_touched,
        messages_clean: a.messages_clean - b.messages_clean,
        cycles_touched: a.cycles_touched - b.cycles_touched,
        bytes_corrupted: a.bytes_corrupted - b.bytes_corrupted,
        noise_bytes: a.noise_bytes - b.noise_bytes,
        noise_dropped: a.noise_dropped - b.noise_dropped,
        time_jumps: a.time_jumps - b.time_jumps,
        burst_cycles: a.burst_cycles - b.burst_cycles,
    }
}

fn record(got: &mut Delivered, f: dronetel_proto::v1::Frame) {
    match (f.sensor.as_str(), f.body) {
        ("gps", Some(Body::Gps(g))) if g.latitude_deg.is_some() => {
            let t = ms(g.time.as_ref().expect("fix time"));
            got.first_gps_ms.get_or_insert(t);
            got.gps
                .insert(t, (g.latitude_deg, g.longitude_deg, g.altitude_msl_m));
        }
        ("fc", Some(Body::Gps(g))) => {
            if let Some(t) = g.time.as_ref().map(ms) {
                got.first_fc_ms.get_or_insert(t);
                got.fc_gps
                    .insert((t, format!("{:?}", (g.latitude_deg, g.longitude_deg))));
            }
        }
        ("tracker", Some(Body::Tracking(u))) => {
            let n = u32::try_from(u.sensor_frame).unwrap();
            got.first_tracker.get_or_insert(n);
            got.tracker.insert(n, u);
        }
        _ => {}
    }
}

/// Every cycle the simulator sent untouched (it publishes truth only for
/// those) after the client's first reading of that sensor was delivered.
async fn compare_with_truth(h: &Harness, got: &Delivered) {
    let first = got.first_gps_ms.unwrap();
    let gps: Vec<(i64, _)> = h
        .truth
        .lock()
        .unwrap()
        .iter()
        .filter(|(&t, _)| t > first)
        .map(|(&t, f)| (t, (f.latitude_deg, f.longitude_deg, f.altitude_msl_m)))
        .collect();
    for (t, want) in &gps {
        assert_eq!(got.gps.get(t), Some(want), "GPS cycle at {t} ms");
    }
    let first = got.first_fc_ms.unwrap();
    let mut fc = 0;
    for tick in h.fc_truth.lock().unwrap().iter() {
        // GLOBAL_POSITION_INT carries no UTC time; GPS_RAW_INT does.
        for g in tick.gps.iter().filter(|g| g.time.is_some()) {
            let t = ms(g.time.as_ref().expect("filtered"));
            if t > first {
                let key = (t, format!("{:?}", (g.latitude_deg, g.longitude_deg)));
                assert!(got.fc_gps.contains(&key), "flight-controller GPS at {t} ms");
                fc += 1;
            }
        }
    }
    let first = got.first_tracker.unwrap();
    let tracker = h.tracker_truth.lock().unwrap().clone();
    let mut tr = 0;
    for (n, report) in tracker.iter().filter(|(&n, _)| n > first) {
        let u = got
            .tracker
            .get(n)
            .unwrap_or_else(|| panic!("tracker frame {n} untouched but not delivered"));
        assert_eq!(u.sensor_time_us, report.timestamp_us, "tracker frame {n}");
        let want: Vec<_> = report
            .objects
            .iter()
            .map(dronetel_wire::tracker::decoder::object)
            .collect();
        assert_eq!(u.objects, want, "tracker frame {n}");
        tr += 1;
    }
    eprintln!(
        "untouched messages delivered as sent: {} GPS cycles, {fc} flight-controller GPS messages, {tr} tracker frames",
        gps.len()
    );
    assert!(
        gps.len() >= 250 && fc >= 200 && tr >= 1000,
        "too few untouched messages compared"
    );
}
