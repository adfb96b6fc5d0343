//! `dronetel recover` over corrupted recordings: a real recording (made
//! once, uncompressed or zstd as the input's first byte picks) with the
//! input's edits applied (byte position, XOR mask), cut where the input
//! says; or the input itself after the MCAP magic. Recovery never panics
//! or aborts on an allocation, and every message it counts reads back from
//! its output.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use dronetel::sink::record::recover::{recover_bytes, RecoverBytesError};

const MESSAGES: u32 = 40;

fn recording(zstd: bool) -> &'static [u8] {
    static PLAIN: OnceLock<Vec<u8>> = OnceLock::new();
    static ZSTD: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = if zstd { &ZSTD } else { &PLAIN };
    cell.get_or_init(|| {
        let mut w = mcap::WriteOptions::new()
            .compression(zstd.then_some(mcap::Compression::Zstd))
            .profile("")
            .create(Cursor::new(Vec::new()))
            .expect("writer");
        let schema = w.add_schema("s", "protobuf", b"schema").expect("schema");
        let ch = w
            .add_channel(schema, "gps/gps", "protobuf", &Default::default())
            .expect("channel");
        for i in 0..MESSAGES {
            let header = mcap::records::MessageHeader {
                channel_id: ch,
                sequence: i,
                log_time: u64::from(i),
                publish_time: u64::from(i),
            };
            w.write_to_known_channel(&header, format!("message {i}").as_bytes())
                .expect("write");
            if i % 8 == 7 {
                w.flush().expect("flush");
            }
        }
        w.finish().expect("finish");
        w.into_inner().into_inner()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, edits)) = data.split_first() else {
        return;
    };
    // Mode 0..=1: edit a real recording; 2: the input itself is the file
    // (after the MCAP magic).
    let file: Vec<u8> = if mode % 3 == 2 {
        let mut f = mcap::MAGIC.to_vec();
        f.extend_from_slice(edits);
        f
    } else {
        let mut f = recording(mode % 3 == 1).to_vec();
        let mut cut = f.len();
        for e in edits.chunks(3) {
            let [a, b, x] = <[u8; 3]>::try_from(e).unwrap_or([e[0], 0, 0]);
            let pos = usize::from(u16::from_le_bytes([a, b])) % f.len();
            if x == 0 {
                cut = cut.min(pos);
            } else {
                f[pos] ^= x;
            }
        }
        f.truncate(cut.max(mcap::MAGIC.len()));
        f
    };
    let mut out = Cursor::new(Vec::new());
    let r = match recover_bytes(&file, &mut out) {
        Ok(r) => r,
        // An edit hit the magic: refused, and only then.
        Err(RecoverBytesError::NotMcap) => {
            assert!(!file.starts_with(mcap::MAGIC), "a file with the magic refused");
            return;
        }
        Err(e) => panic!("writing to memory failed: {e:?}"),
    };
    let out = out.into_inner();
    let kept = mcap::MessageStream::new(&out)
        .expect("the output is an MCAP file")
        .map(|m| m.expect("every kept message reads back"))
        .count() as u64;
    assert_eq!(kept, r.messages);
});
