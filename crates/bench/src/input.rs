//! Benchmark input: the shared gpsd captures (read in place, never copied
//! into the project) and the decoder driver shared by the benches.

use std::path::PathBuf;

use bytes::BytesMut;
use dronetel_wire::SensorDecoder;

/// Bytes handed to the decoder per call, as the daemon's sensor task reads.
pub const READ_CHUNK: usize = 4096;

/// The gpsd NMEA captures, relative to the repository root's parent.
pub fn capture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/gpsd/nmea")
}

/// The gpsd u-blox captures (UBX, some with NMEA), relative to the
/// repository root's parent.
pub fn ubx_capture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/gpsd/ubx")
}

/// Every u-blox capture, concatenated, and its UBX frame count (the items
/// of the UBX throughput row).
#[derive(Debug, Clone, Default)]
pub struct UbxCaptures {
    /// All `*.log` files back to back (comments, NMEA, RTCM and all).
    pub bytes: Vec<u8>,
    /// UBX frames with a good checksum in them.
    pub frames: u64,
    /// Capture files read.
    pub files: usize,
}

/// Reads every `*.log` u-blox capture, in name order.
pub fn ubx_captures() -> std::io::Result<UbxCaptures> {
    let mut c = UbxCaptures::default();
    for p in logs_in(&ubx_capture_dir())? {
        let bytes = std::fs::read(p)?;
        c.bytes.extend_from_slice(&bytes);
        c.files += 1;
    }
    c.frames = count_ubx_frames(&c.bytes);
    Ok(c)
}

/// Good UBX frames in `bytes`: sync, length and checksum; a candidate that
/// fails is skipped by one byte.
pub fn count_ubx_frames(bytes: &[u8]) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while let Some(rest) = bytes.get(i..) {
        if let [0xb5, 0x62, _, _, l0, l1, ..] = *rest {
            let len = usize::from(u16::from_le_bytes([l0, l1]));
            if let (Some(body), Some(sum)) = (rest.get(2..6 + len), rest.get(6 + len..8 + len)) {
                if dronetel_wire::ubx::fletcher(body)[..] == *sum {
                    n += 1;
                    i += 8 + len;
                    continue;
                }
            }
        }
        if rest.is_empty() {
            break;
        }
        i += 1;
    }
    n
}

/// The `*.log` files of a folder, in name order.
fn logs_in(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Every capture, concatenated, with what the comparison needs.
#[derive(Debug, Clone, Default)]
pub struct Captures {
    /// All `*.log` files back to back (junk, comments and all).
    pub bytes: Vec<u8>,
    /// Lines starting with `$` or `!` (the sentences offered).
    pub sentences: u64,
    /// Those lines as text without terminators (for the `nmea` crate,
    /// which takes one `&str` sentence per call); non-UTF-8 lines left out.
    pub lines: Vec<String>,
    /// Capture files read.
    pub files: usize,
}

/// Reads every `*.log` capture, in name order.
pub fn captures() -> std::io::Result<Captures> {
    let mut c = Captures::default();
    for p in &logs_in(&capture_dir())? {
        let bytes = std::fs::read(p)?;
        c.bytes.extend_from_slice(&bytes);
        c.files += 1;
    }
    for line in c.bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if matches!(line.first(), Some(b'$' | b'!')) {
            c.sentences += 1;
            if let Ok(s) = std::str::from_utf8(line) {
                c.lines.push(s.to_owned());
            }
        }
    }
    Ok(c)
}

/// Decodes `bytes` fed in [`READ_CHUNK`] pieces, then the idle flush, as
/// the sensor task does; returns the readings produced.
pub fn decode_chunked<D: SensorDecoder>(decoder: &mut D, bytes: &[u8]) -> usize {
    let mut buf = BytesMut::with_capacity(2 * READ_CHUNK);
    let mut out = Vec::new();
    let mut n = 0;
    for chunk in bytes.chunks(READ_CHUNK) {
        buf.extend_from_slice(chunk);
        decoder.decode_all(&mut buf, &mut out);
        n += out.len();
        out.clear();
    }
    n + usize::from(decoder.flush_idle().is_some())
}
