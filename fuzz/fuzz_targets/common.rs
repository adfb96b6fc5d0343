//! Shared driver: feeds the input to a decoder in chunks whose size the
//! input's first byte chooses, and checks the decoder contract (every byte
//! consumed, every byte counted, the buffer never kept).

use bytes::BytesMut;
use dronetel_wire::SensorDecoder;

pub fn drive<D: SensorDecoder>(mut d: D, data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let mut buf = BytesMut::new();
    for piece in bytes.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(_reading) = d.decode(&mut buf).expect("decode never fails") {}
        assert!(buf.is_empty(), "decoder left {} bytes in the buffer", buf.len());
    }
    while let Some(_reading) = d.decode_eof(&mut buf).expect("decode_eof never fails") {}
    let _ = d.flush_idle();
    assert_eq!(d.stats().bytes, bytes.len() as u64, "every byte counted");
}
