//! Chunk-size invariance on real captures: every capture decoded in chunks
//! of 1 to 64 bytes gives exactly the fixes and counters of the whole
//! stream at once (junk, binary garbage, `$$`, spliced lines and
//! unterminated last lines included).
#![allow(clippy::unwrap_used)]

use crate::common;

use dronetel_wire::nmea::NmeaOptions;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/gpsd/nmea"
);

#[test]
fn every_capture_decodes_the_same_at_every_chunk_size() {
    let dir = std::path::Path::new(DIR);
    assert!(dir.is_dir(), "capture folder {} is missing", dir.display());
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let mut modes = vec![NmeaOptions::default()];
        // The captures with unchecksummed or damaged lines, also in lax mode.
        let name = path.file_name().unwrap().to_string_lossy();
        if [
            "hp58534a.log",
            "gp-320fw-2019-04-07-coldboot.log",
            "ublox-8.log",
        ]
        .contains(&&*name)
        {
            modes.push(NmeaOptions {
                require_checksum: false,
                ..NmeaOptions::default()
            });
        }
        for opts in modes {
            let whole = common::decode_chunked(&opts, &input, input.len());
            for chunk in 1..=64 {
                let got = common::decode_chunked(&opts, &input, chunk);
                assert!(
                    got == whole,
                    "{}: chunk size {chunk} differs from the whole stream",
                    path.display()
                );
            }
        }
        files += 1;
    }
    assert!(files >= 28, "expected the 28 gpsd captures, found {files}");
}
