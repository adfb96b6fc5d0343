//! Reading recordings back the way a third-party tool does: every message
//! of a finished MCAP file decoded through the descriptor set the file
//! itself carries (prost-reflect), not through our compiled types.

use std::path::{Path, PathBuf};

use dronetel_proto::v1::{frame::Body, Frame};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};

/// The `.mcap` files in `dir`, sorted by name (the recorder's names sort
/// by start time); none when `dir` does not exist yet.
pub fn mcap_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "mcap"));
    v.sort();
    v
}

/// The bytes and summary of the one recording in `dir`, checked finished:
/// footer, end magic and a summary section (the index). Panics otherwise.
pub fn the_finished_recording(dir: &Path) -> (Vec<u8>, mcap::Summary) {
    let files = mcap_files(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let data = std::fs::read(&files[0]).unwrap();
    mcap::read::footer(&data).expect("a finished file: footer and end magic");
    let summary = mcap::Summary::read(&data)
        .unwrap()
        .expect("a finished file has a summary");
    (data, summary)
}

/// A protobuf timestamp in nanoseconds since the epoch: MCAP's log and
/// publish times.
pub fn ns(t: &prost_types::Timestamp) -> u64 {
    t.seconds as u64 * 1_000_000_000 + t.nanos as u64
}

/// Every frame of a finished file (well-known channels skipped), decoded through the descriptor set the
/// file itself carries; checks channel, schema and times on the way.
pub fn read_back(path: &Path) -> Vec<Frame> {
    read_back_chunked(path, true)
}

/// [`read_back`]; `recorder_file`: also check the recorder's 1 s chunks.
pub fn read_back_chunked(path: &Path, recorder_file: bool) -> Vec<Frame> {
    let data = std::fs::read(path).unwrap();
    let summary = mcap::Summary::read(&data)
        .unwrap()
        .expect("a finished file has a summary");
    assert!(!summary.chunk_indexes.is_empty(), "indexed");
    for c in summary.chunk_indexes.iter().filter(|_| recorder_file) {
        let span = c.message_end_time - c.message_start_time;
        assert!(span <= 1_000_000_000, "chunk spans {span} ns > 1 s");
    }
    let mut pool: Option<(DescriptorPool, String)> = None;
    let mut frames = Vec::new();
    for m in mcap::MessageStream::new(&data).unwrap() {
        let m = m.unwrap();
        let schema = m.channel.schema.as_ref().expect("channel has a schema");
        // Foxglove's well-known channels are checked by their own test.
        if schema.name.starts_with("foxglove.") {
            continue;
        }
        assert_eq!(schema.encoding, "protobuf");
        assert_eq!(m.channel.message_encoding, "protobuf");
        let (pool, name) = pool.get_or_insert_with(|| {
            (
                DescriptorPool::decode(&schema.data[..]).unwrap(),
                schema.name.clone(),
            )
        });
        assert_eq!(name, "dronetel.v1.Frame");
        let desc = pool.get_message_by_name(name).unwrap();
        let dynamic = DynamicMessage::decode(desc, &m.data[..]).unwrap();
        let seq = match dynamic.get_field_by_name("seq").unwrap().as_ref() {
            Value::U64(s) => *s,
            v => panic!("seq is {v:?}"),
        };
        let sensor = dynamic
            .get_field_by_name("sensor")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        let kind = ["gps", "battery", "tracking", "health", "vehicle"]
            .into_iter()
            .find(|k| dynamic.has_field_by_name(k))
            .expect("a body");
        assert_eq!(m.channel.topic, format!("{sensor}/{kind}"));
        assert_eq!(m.sequence, seq as u32);
        // Our types only to compare values with what the client received.
        let frame = Frame::decode(&dynamic.encode_to_vec()[..]).unwrap();
        assert_eq!(frame.seq, seq);
        assert_eq!(m.log_time, ns(frame.received_at.as_ref().unwrap()));
        if let Some(Body::Gps(g)) = &frame.body {
            if let Some(t) = &g.time {
                assert_eq!(m.publish_time, ns(t), "publish_time is the fix time");
            }
        }
        frames.push(frame);
    }
    frames
}
