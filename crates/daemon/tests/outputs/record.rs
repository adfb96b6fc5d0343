//! Acceptance of the MCAP recording: 10 s of the simulator recorded, read
//! back with the mcap reader and decoded through the EMBEDDED descriptors
//! (prost-reflect), equal to what a stream client received; replay into the
//! stream sink gives the same frames in the same order; SIGTERM leaves a
//! finished, indexed file; after SIGKILL, recover loses at most the last
//! second.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use dronetel::sink::record::recover::recover;
use dronetel::sink::record::replay::{replay, Pace};
use dronetel::{Config, Daemon};
use dronetel_proto::v1::{frame::Body, Frame};
use dronetel_testkit::client::Client;
use dronetel_testkit::in_process::InProc;
use dronetel_testkit::mcap_read::{mcap_files, ns, read_back, read_back_chunked};
use dronetel_testkit::ports::logged_addr;
use dronetel_testkit::sections::config_text;
use dronetel_testkit::DEADLINE;
use firmware_sim::{SimOptions, Simulator};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_seconds_recorded_decode_through_the_embedded_schema_and_replay_identically() {
    let h = InProc::start(
        "record",
        10.0,
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 0\n",
    )
    .await;
    let rec_dir = h.dir.path().join("rec");
    let mut client = Client::connect(h.tcp(), None).await;
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(f) = client.next().await {
            got.push(f);
        }
        got
    });
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stats = h.daemon.sinks().get("record").unwrap().stats().clone();
    let report = h.daemon.shutdown().await;
    assert!(report.aborted.is_empty(), "{:?}", report.aborted);
    let received = reader.await.unwrap();
    let files = mcap_files(&rec_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let recorded = read_back(&files[0]);
    // The default compression: every chunk zstd.
    let data = std::fs::read(&files[0]).unwrap();
    let summary = mcap::Summary::read(&data).unwrap().unwrap();
    assert!(!summary.chunk_indexes.is_empty());
    for c in &summary.chunk_indexes {
        assert_eq!(c.compression, "zstd", "chunk at {}", c.chunk_start_offset);
        assert!(c.compressed_size < c.uncompressed_size, "{c:?}");
    }
    let (packed, plain): (u64, u64) = summary
        .chunk_indexes
        .iter()
        .map(|c| (c.compressed_size, c.uncompressed_size))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    eprintln!("zstd chunks: {plain} bytes of records in {packed} bytes");
    let first = received.first().unwrap().seq;
    let from_first: Vec<&Frame> = recorded.iter().filter(|f| f.seq >= first).collect();
    let gps = recorded
        .iter()
        .filter(|f| matches!(f.body, Some(Body::Gps(_))))
        .count();
    eprintln!(
        "recorded {} frames ({gps} gps) in {}; client received {} from seq {first}; sink sent {} dropped {}",
        recorded.len(),
        files[0].display(),
        received.len(),
        dronetel::sink::SinkStats::get(&stats.sent),
        dronetel::sink::SinkStats::get(&stats.dropped),
    );
    assert!(gps >= 90, "10 s at 10 Hz: {gps} gps frames");
    assert_eq!(from_first.len(), received.len(), "same count");
    for (r, c) in from_first.iter().zip(&received) {
        assert_eq!(*r, c, "recorded frame differs from the streamed one");
    }

    // Replay into a stream sink: the same frames in the same order.
    let text = config_text(Path::new("/dev/null"), "");
    let mut config = Config::parse(&text, "replay.toml").unwrap();
    config.sensors.clear();
    let mut daemon = Daemon::new(config);
    daemon.start().await.unwrap();
    let mut client = Client::connect(daemon.tcp_addr().unwrap(), None).await;
    let t0 = Instant::now();
    while daemon.bus().consumers().snapshot().clients() < 1 {
        assert!(t0.elapsed() < DEADLINE);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let token = daemon.token();
    let n = replay(&files[0], daemon.bus(), Pace::AsFastAsPossible, 256, &token)
        .await
        .unwrap();
    daemon.shutdown().await;
    let mut replayed = Vec::new();
    while let Some(f) = client.next().await {
        replayed.push(f);
    }
    eprintln!(
        "replayed {n} frames as fast as possible; client got {}",
        replayed.len()
    );
    assert_eq!(replayed, recorded, "replay differs from the recording");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_keeps_the_recorded_pace() {
    let h = InProc::start(
        "pace",
        10.0,
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 0\n",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.daemon.shutdown().await;
    let file = mcap_files(&h.dir.path().join("rec")).remove(0);
    let frames = read_back(&file);
    let span = ns(frames.last().unwrap().received_at.as_ref().unwrap())
        - ns(frames[0].received_at.as_ref().unwrap());
    let bus = dronetel::Bus::new(4096);
    let token = tokio_util::sync::CancellationToken::new();
    let t0 = Instant::now();
    replay(&file, &bus, Pace::Speed(2.0), 4096, &token)
        .await
        .unwrap();
    let took = t0.elapsed();
    let want = Duration::from_nanos(span / 2);
    eprintln!(
        "recording spans {:?}; replay at 2x took {took:?}",
        Duration::from_nanos(span)
    );
    assert!(
        took >= want && took < want + Duration::from_millis(500),
        "{took:?} vs {want:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_recording_below_the_free_space_floor() {
    // A floor no disk reaches: the sink starts, logs, and writes nothing.
    let h = InProc::start(
        "floor",
        5.0,
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 1000000000000000000\n",
    )
    .await;
    let mut c = Client::connect(h.tcp(), None).await;
    for _ in 0..10 {
        c.next().await.unwrap();
    }
    let stats = h.daemon.sinks().get("record").unwrap().stats().clone();
    h.daemon.shutdown().await;
    assert!(mcap_files(&h.dir.path().join("rec")).is_empty());
    assert!(dronetel::sink::SinkStats::get(&stats.dropped) >= 5);
}

/// The real binary recording the simulator; returns (child, dir, sim, client addr).
async fn spawn_recording_daemon(
    tag: &str,
) -> (
    tokio::process::Child,
    tempfile::TempDir,
    Simulator,
    std::net::SocketAddr,
) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("dronetel-rec-{tag}-"))
        .tempdir()
        .unwrap();
    let mut opts = SimOptions::new(dir.path().join("dev"));
    opts.gps_rate_hz = 10.0;
    let sim = Simulator::start(opts).await.unwrap();
    let extra = format!(
        "[record]\ndir = \"{}/rec\"\nmin_free_space = 0\n",
        dir.path().display()
    );
    // The stream on port 0, read back from the log.
    let text = config_text(&sim.gps().link(), &extra);
    let cfg = dir.path().join("d.toml");
    std::fs::write(&cfg, text).unwrap();
    let log = dir.path().join("log");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dronetel"))
        .args(["--allow-root", "run", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr = logged_addr(&log, "stream listening on tcp").await;
    (child, dir, sim, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_a_finished_indexed_file() {
    let (mut child, dir, _sim, addr) = spawn_recording_daemon("term").await;
    let mut c = Client::connect(addr, None).await;
    for _ in 0..30 {
        c.next().await.unwrap();
    }
    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(DEADLINE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let files = mcap_files(&dir.path().join("rec"));
    assert_eq!(files.len(), 1);
    let data = std::fs::read(&files[0]).unwrap();
    mcap::read::footer(&data).expect("footer and end magic");
    let frames = read_back(&files[0]);
    eprintln!(
        "SIGTERM: finished file with {} frames, {} bytes",
        frames.len(),
        data.len()
    );
    assert!(frames.len() >= 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_recover_loses_at_most_the_last_second() {
    let (mut child, dir, _sim, addr) = spawn_recording_daemon("kill").await;
    let mut c = Client::connect(addr, None).await;
    let mut received = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(3500) {
        received.push(c.next().await.unwrap());
    }
    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGKILL).unwrap();
    let killed_at = SystemTime::now();
    child.wait().await.unwrap();
    // Frames that were still in the socket when the daemon died.
    while let Ok(Some(f)) = tokio::time::timeout(Duration::from_millis(200), c.next()).await {
        received.push(f);
    }
    let files = mcap_files(&dir.path().join("rec"));
    assert_eq!(files.len(), 1);
    let out = dir.path().join("recovered.mcap");
    let r = recover(&files[0], &out).unwrap();
    let recovered = read_back_chunked(&out, false);
    // `r.messages` also counts Foxglove's well-known messages.
    let out_data = std::fs::read(&out).unwrap();
    let frame_messages = mcap::MessageStream::new(&out_data)
        .unwrap()
        .filter(|m| {
            m.as_ref().unwrap().channel.schema.as_ref().unwrap().name == "dronetel.v1.Frame"
        })
        .count();
    assert_eq!(recovered.len(), frame_messages);
    assert!(r.messages >= frame_messages as u64);
    let have: std::collections::HashSet<u64> = recovered.iter().map(|f| f.seq).collect();
    let killed_ns = killed_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let lost: Vec<&Frame> = received.iter().filter(|f| !have.contains(&f.seq)).collect();
    let oldest_lost = lost
        .iter()
        .map(|f| killed_ns - ns(f.received_at.as_ref().unwrap()))
        .max()
        .unwrap_or(0);
    eprintln!(
        "SIGKILL: client got {}, recovered {} (damage: {:?}); lost {} frames, the oldest {:?} before the kill",
        received.len(),
        recovered.len(),
        r.damage,
        lost.len(),
        Duration::from_nanos(oldest_lost)
    );
    // Everything before the lost tail was kept.
    let first_lost = lost.iter().map(|f| f.seq).min().unwrap_or(u64::MAX);
    assert!(received
        .iter()
        .filter(|f| f.seq < first_lost)
        .all(|f| have.contains(&f.seq)));
    assert!(
        oldest_lost <= 1_100_000_000,
        "lost {:?} of data",
        Duration::from_nanos(oldest_lost)
    );
    assert!(recovered.len() >= 20);
}

/// Records until `dir` holds `files` finished files (or panics after the
/// deadline), shuts down, and returns every file's frames in file order.
async fn record_until_rotated(h: InProc, files: usize) -> Vec<(PathBuf, u64, Vec<Frame>)> {
    let rec = h.dir.path().join("rec");
    let t0 = Instant::now();
    while mcap_files(&rec).len() <= files {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{} files after 30 s",
            mcap_files(&rec).len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.daemon.shutdown().await;
    let out: Vec<_> = mcap_files(&rec)
        .into_iter()
        .map(|p| {
            let f = read_back(&p);
            let size = std::fs::metadata(&p).unwrap().len();
            (p, size, f)
        })
        .collect();
    // Rotation loses nothing: sequence numbers run on from file to file.
    let seqs: Vec<u64> = out
        .iter()
        .flat_map(|(_, _, f)| f.iter().map(|f| f.seq))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "a gap or reordering across files"
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_rotate_by_duration_and_lose_nothing() {
    let h = InProc::start(
        "rot-time",
        10.0,
        "[record]\ndir = \"{dir}/rec\"\nmin_free_space = 0\nmax_file_duration = \"2s\"\n",
    )
    .await;
    let files = record_until_rotated(h, 2).await;
    for (p, _, frames) in &files[..files.len() - 1] {
        let first = ns(frames[0].received_at.as_ref().unwrap());
        let last = ns(frames.last().unwrap().received_at.as_ref().unwrap());
        let span = Duration::from_nanos(last - first);
        eprintln!("{}: {} frames over {span:?}", p.display(), frames.len());
        // Rotation happens at a chunk boundary (at most 1 s late); 1 s slack.
        assert!(span < Duration::from_secs(4), "{span:?} in one file");
        assert!(
            span >= Duration::from_millis(900),
            "{span:?}: rotated early"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_rotate_by_size_and_lose_nothing() {
    const MAX: u64 = 65536;
    // Uncompressed, so the smallest allowed size is reached in a few seconds.
    let h = InProc::start(
        "rot-size",
        25.0,
        &format!("[record]\ndir = \"{{dir}}/rec\"\nmin_free_space = 0\nmax_file_size = {MAX}\nmax_file_duration = \"1h\"\ncompression = \"none\"\n"),
    )
    .await;
    let files = record_until_rotated(h, 1).await;
    for (p, size, frames) in &files[..files.len() - 1] {
        eprintln!("{}: {} frames, {size} bytes", p.display(), frames.len());
        // Rotated at the first chunk boundary past the limit: the file holds
        // at most the limit plus one second of frames and the summary.
        assert!(*size >= MAX, "{size} bytes: rotated early");
        assert!(*size < 3 * MAX, "{size} bytes for max_file_size {MAX}");
    }
}
