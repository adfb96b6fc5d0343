//! Foxglove's well-known schemas in a recording, read back by the official
//! Python tools (`mcap` + `mcap-protobuf-support`, installed by the test
//! into a private venv) through the schemas the file embeds only: every
//! `foxglove.LocationFix` on `gps/fix` (and `fc/fix`) equals the fix of its
//! Frame channel, every `foxglove.Log` equals a state change of the health
//! frames (a GPS stalled in flight goes STALE and back ONLINE), tracked
//! objects arrive as `foxglove.SceneUpdate`, and the frame channels are
//! unchanged.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use crate::foxglove_common::wait_state;
use dronetel_proto::v1::SensorState;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_shows_the_track_and_the_sensor_story_in_python_mcap() {
    let python = crate::foxglove_common::python();
    let f = crate::foxglove_common::flight(
        "rec",
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 0\n",
    )
    .await;
    let mut rx = f.daemon.bus().subscribe();
    wait_state(&mut rx, "gps", SensorState::Online).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The receiver goes quiet in flight: STALE, then ONLINE again.
    f.sim().gps().set_stalled(true);
    wait_state(&mut rx, "gps", SensorState::Stale).await;
    f.sim().gps().set_stalled(false);
    wait_state(&mut rx, "gps", SensorState::Online).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let report = f.daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);

    let rec = f.dir.path().join("rec");
    let file = std::fs::read_dir(&rec)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mcap"))
        .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/outputs/foxglove_common/read_mcap.py"
    );
    let out = Command::new(&python)
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let on = |topic: &str| -> Vec<&Value> { msgs.iter().filter(|m| m["topic"] == topic).collect() };

    // Fixes: one LocationFix per Frame fix with a position, same values.
    for sensor in ["gps", "fc"] {
        let frames: Vec<&Value> = on(&format!("{sensor}/gps"))
            .into_iter()
            .filter(|m| !m["lat"].is_null() && !m["lon"].is_null())
            .collect();
        let fixes = on(&format!("{sensor}/fix"));
        eprintln!(
            "{sensor}: {} fixes, {} frames with a position",
            fixes.len(),
            frames.len()
        );
        assert!(fixes.len() >= 20, "{sensor}: {} fixes", fixes.len());
        assert_eq!(fixes.len(), frames.len(), "{sensor}: one fix per frame");
        for (fix, frame) in fixes.iter().zip(&frames) {
            assert_eq!(fix["schema"], "foxglove.LocationFix");
            assert_eq!(fix["frame_id"], sensor);
            assert_eq!(fix["lat"], frame["lat"]);
            assert_eq!(fix["lon"], frame["lon"]);
            assert_eq!(fix["log_time"], frame["log_time"]);
            let time = if frame["time"].is_null() {
                &frame["received"]
            } else {
                &frame["time"]
            };
            assert_eq!(&fix["time"], time);
            let hae = match (
                frame["hae"].as_f64(),
                frame["msl"].as_f64(),
                frame["sep"].as_f64(),
            ) {
                (Some(h), _, _) => h,
                (None, Some(m), Some(s)) => m + s,
                _ => 0.0,
            };
            assert!(
                (fix["alt"].as_f64().unwrap() - hae).abs() < 1e-9,
                "{fix} {frame}"
            );
            // 2: DIAGONAL_KNOWN, 1: APPROXIMATED, 0: UNKNOWN.
            let want = if !frame["herr"].is_null() && !frame["verr"].is_null() {
                2
            } else if !frame["hdop"].is_null() {
                1
            } else {
                0
            };
            assert_eq!(fix["cov_type"], want, "{fix} {frame}");
            assert_eq!(fix["cov"].as_array().unwrap().len(), 9);
        }
    }

    // Logs: exactly the state changes of each sensor's health frames.
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut changes = Vec::new();
    for m in msgs.iter().filter(|m| m["body"] == "health") {
        let sensor = m["sensor"].as_str().unwrap().to_owned();
        let state = m["state"].as_i64().unwrap();
        if last.insert(sensor.clone(), state) != Some(state) {
            changes.push((sensor, state, m["received"].as_u64().unwrap()));
        }
    }
    let logs: Vec<(String, i64, u64, String)> = msgs
        .iter()
        .filter(|m| m["schema"] == "foxglove.Log")
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["level"].as_i64().unwrap(),
                m["time"].as_u64().unwrap(),
                m["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    eprintln!("logs: {logs:?}");
    assert_eq!(logs.len(), changes.len());
    for ((sensor, state, at), (name, level, time, message)) in changes.iter().zip(&logs) {
        assert_eq!((sensor, at), (name, time));
        // Log levels: 2 INFO, 3 WARNING, 4 ERROR.
        let (want, word) = match SensorState::try_from(*state as i32).unwrap() {
            SensorState::Online => (2, "ONLINE"),
            SensorState::Starting => (2, "STARTING"),
            SensorState::Stale => (3, "STALE"),
            SensorState::Disconnected => (4, "DISCONNECTED"),
            SensorState::Unspecified => (0, "UNSPECIFIED"),
        };
        assert_eq!(*level, want, "{message}");
        assert!(
            message.starts_with(&format!("{sensor}: {word}")),
            "{message}"
        );
    }
    let gps_story: Vec<i64> = logs.iter().filter(|l| l.0 == "gps").map(|l| l.1).collect();
    assert!(
        gps_story.windows(3).any(|w| w == [2, 3, 2]),
        "gps ONLINE, STALE, ONLINE: {gps_story:?}"
    );

    // Tracked objects: one SceneUpdate per tracking frame.
    let tracking = on("tracker/tracking");
    let scenes = on("tracker/objects");
    assert!(!tracking.is_empty());
    assert_eq!(scenes.len(), tracking.len());
    assert!(scenes
        .iter()
        .all(|s| s["deletions"] == 1 && s["schema"] == "foxglove.SceneUpdate"));
    assert!(
        scenes
            .iter()
            .any(|s| !s["entities"].as_array().unwrap().is_empty()),
        "no object placed"
    );
}
