#![allow(clippy::unwrap_used)]
use super::*;
use crate::bus::Bus;
use crate::selection::{Kind, Selection};
use dronetel_proto::v1::{frame::Body, GpsFix, SensorHealth};

fn gps() -> Body {
    Body::Gps(GpsFix::default())
}
fn health() -> Body {
    Body::Health(SensorHealth::default())
}

fn sel_gps_hz(hz: f64) -> Selection {
    let mut s = Selection::default();
    s.min_interval
        .insert(Kind::Gps, Selection::interval_for(hz).unwrap());
    s
}

async fn next(rc: &mut RateControlled) -> Published {
    match rc.recv().await {
        Received::Frame(p) => p,
        Received::Closed => panic!("closed"),
    }
}

#[tokio::test(start_paused = true)]
async fn ten_hz_decimated_to_one_hz_keeps_the_latest_value() {
    let bus = Bus::new(1024);
    let mut rc = RateControlled::new(bus.subscribe(), sel_gps_hz(1.0));
    let start = Instant::now();
    let producer = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                bus.publish("gps0", gps());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut got = Vec::new();
    while got.len() < 5 {
        let p = next(&mut rc).await;
        got.push((p.frame().seq, start.elapsed()));
    }
    producer.await.unwrap();
    // First frame at once, then one per second, each the newest published
    // by the time its slot opened.
    assert_eq!(got[0].0, 1);
    for w in got.windows(2) {
        let dt = w[1].1 - w[0].1;
        assert!(dt >= Duration::from_secs(1), "{got:?}");
        assert!(dt < Duration::from_millis(1100), "{got:?}");
        assert!(w[1].0 >= w[0].0 + 9, "{got:?}");
    }
    assert!(rc.stats().decimated >= 30, "{:?}", rc.stats());
}

#[tokio::test(start_paused = true)]
async fn a_held_value_is_flushed_by_the_timer_when_nothing_follows() {
    let bus = Bus::new(16);
    let mut rc = RateControlled::new(bus.subscribe(), sel_gps_hz(2.0));
    bus.publish("gps0", gps());
    bus.publish("gps0", gps());
    bus.publish("gps0", gps());
    let t0 = Instant::now();
    assert_eq!(next(&mut rc).await.frame().seq, 1);
    // Nothing else is published: the latest held value (3) still comes out
    // when the 500 ms slot opens.
    assert_eq!(next(&mut rc).await.frame().seq, 3);
    assert_eq!(t0.elapsed(), Duration::from_millis(500));
    assert_eq!(rc.stats().decimated, 1);
}

#[tokio::test(start_paused = true)]
async fn slots_are_per_sensor_and_other_kinds_pass_at_full_rate() {
    let bus = Bus::new(64);
    let mut rc = RateControlled::new(bus.subscribe(), sel_gps_hz(1.0));
    for _ in 0..3 {
        bus.publish("a", gps());
        bus.publish("b", gps());
        bus.publish("a", health());
    }
    drop(bus);
    let mut got = Vec::new();
    while let Received::Frame(p) = rc.recv().await {
        got.push((
            p.frame().sensor.clone(),
            Kind::of(p.frame()).unwrap(),
            p.frame().seq,
        ));
    }
    let count = |s: &str, k: Kind| got.iter().filter(|(gs, gk, _)| gs == s && *gk == k).count();
    assert_eq!(count("a", Kind::Health), 3);
    // One at once and the held latest at close, per sensor.
    assert_eq!(count("a", Kind::Gps), 2);
    assert_eq!(count("b", Kind::Gps), 2);
    assert!(
        got.iter().any(|g| g.2 == 7) && got.iter().any(|g| g.2 == 8),
        "{got:?}"
    );
}

#[tokio::test]
async fn the_filter_passes_only_selected_sensors_and_kinds() {
    let bus = Bus::new(64);
    let sel = Selection {
        sensors: ["a".to_string()].into(),
        kinds: [Kind::Health].into(),
        ..Default::default()
    };
    let mut rc = RateControlled::new(bus.subscribe(), sel);
    bus.publish("a", gps());
    bus.publish("b", health());
    bus.publish("a", health());
    drop(bus);
    assert_eq!(next(&mut rc).await.frame().seq, 3);
    assert!(matches!(rc.recv().await, Received::Closed));
    assert_eq!(rc.stats().filtered, 2);
}

#[test]
fn rates_out_of_range_are_refused() {
    for hz in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
        assert!(Selection::interval_for(hz).is_none(), "{hz}");
    }
    assert_eq!(
        Selection::interval_for(4.0),
        Some(Duration::from_millis(250))
    );
}
