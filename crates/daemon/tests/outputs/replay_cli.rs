//! `dronetel replay` and `dronetel recover` as a user runs them: the real
//! binary re-publishes a recording to a stream client, which gets the
//! recorded frames, all of them, in order.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use dronetel_proto::FrameCodec;
use dronetel_testkit::client::Client;
use dronetel_testkit::in_process::InProc;
use dronetel_testkit::mcap_read::{mcap_files, read_back, the_finished_recording};
use dronetel_testkit::ports::{connect_when_listening, logged_addr};
use dronetel_testkit::sections::config_text;
use dronetel_testkit::DEADLINE;
use tokio_util::codec::FramedRead;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_command_streams_the_recording_in_order() {
    // Record about two seconds of the simulator.
    let h = InProc::start(
        "replay-cli",
        10.0,
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 0\n",
    )
    .await;
    let mut c = Client::connect(h.tcp(), None).await;
    for _ in 0..20 {
        c.next().await.unwrap();
    }
    h.daemon.shutdown().await;
    let file = mcap_files(&h.dir.path().join("rec")).pop().unwrap();
    let recorded = read_back(&file);
    assert!(recorded.len() >= 20);

    // Replay it with the binary into a stream sink on port 0, whose port
    // the log tells.
    let cfg = h.dir.path().join("replay.toml");
    // A config names its sensors; replay ignores them.
    let text = config_text(&h.sim.gps().link(), "");
    std::fs::write(&cfg, text).unwrap();
    let log = h.dir.path().join("replay.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args([
            "replay",
            "--as-fast-as-possible",
            "--wait-clients",
            "1",
            "--config",
        ])
        .arg(&cfg)
        .arg(&file)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let port = logged_addr(&log, "stream listening on tcp").await.port();
    let mut client = Client {
        frames: FramedRead::new(
            connect_when_listening(port, "replay").await,
            FrameCodec::default(),
        ),
    };
    let mut replayed = Vec::new();
    while let Some(f) = client.next().await {
        replayed.push(f);
    }
    let status = tokio::time::timeout(DEADLINE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    eprintln!(
        "dronetel replay: {} of {} recorded frames streamed back, in order",
        replayed.len(),
        recorded.len()
    );
    assert_eq!(replayed, recorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_on_a_flipped_length_bit_keeps_what_came_before_and_names_the_offset() {
    use std::os::unix::fs::PermissionsExt;
    // About three seconds of the simulator: a chunk per second.
    let h = InProc::start(
        "recover-cli",
        10.0,
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 0\n",
    )
    .await;
    let mut c = Client::connect(h.tcp(), None).await;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(3500) {
        c.next().await.unwrap();
    }
    h.daemon.shutdown().await;
    let rec = h.dir.path().join("rec");
    let (mut data, summary) = the_finished_recording(&rec);
    // Recordings are private to the daemon's user.
    let file = mcap_files(&rec).pop().unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "recording mode {mode:o}");
    let chunks = &summary.chunk_indexes;
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    // Messages in the first two chunks: what must survive a damaged third.
    let before: Vec<(u64, Vec<u8>)> = chunks[..2]
        .iter()
        .flat_map(|c| summary.stream_chunk(&data, c).unwrap())
        .map(|m| {
            let m = m.unwrap();
            (m.log_time, m.data.into_owned())
        })
        .collect();
    let third = chunks[2].chunk_start_offset;
    // One flipped bit, the top one of the third chunk's record length: the
    // chunk now claims 2^63 more bytes than it has.
    data[third as usize + 8] ^= 0x80;
    let damaged = h.dir.path().join("damaged.mcap");
    std::fs::write(&damaged, &data).unwrap();
    let out_path = h.dir.path().join("out.mcap");
    let out = tokio::time::timeout(
        DEADLINE,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_dronetel"))
            .arg("recover")
            .arg(&damaged)
            .arg("-o")
            .arg(&out_path)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "dronetel recover: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}", out.status);
    assert!(
        stdout.contains(&format!("at byte offset {third}:")),
        "the damage is not named at {third}: {stdout}"
    );
    let recovered = std::fs::read(&out_path).unwrap();
    let kept: Vec<(u64, Vec<u8>)> = mcap::MessageStream::new(&recovered)
        .unwrap()
        .map(|m| {
            let m = m.unwrap();
            (m.log_time, m.data.into_owned())
        })
        .collect();
    assert!(
        kept.len() >= before.len() && kept[..before.len()] == before[..],
        "kept {} messages, {} were before the damage",
        kept.len(),
        before.len()
    );
    let mode = std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "recovered file mode {mode:o}");
}
