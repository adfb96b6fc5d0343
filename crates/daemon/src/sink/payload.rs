//! Frame payloads for transports that carry one frame per message (MQTT,
//! UDP, MCAP): the bus's delimited bytes without their length prefix, so a
//! frame is still encoded only once.

use bytes::Bytes;

use crate::bus::Published;

/// The encoded `Frame` of `p` without its varint length prefix.
pub fn frame_bytes(p: &Published) -> Bytes {
    let bytes = p.bytes();
    let mut prefix = &bytes[..];
    match prost::encoding::decode_varint(&mut prefix) {
        Ok(len) => {
            let start = bytes.len() - prefix.len();
            // The bus wrote the prefix itself, so the length always matches.
            debug_assert_eq!(start as u64 + len, bytes.len() as u64);
            bytes.slice(start..)
        }
        Err(_) => Bytes::from(prost::Message::encode_to_vec(p.frame())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::bus::{Bus, Received};
    use dronetel_proto::v1::{frame::Body, Frame, SensorHealth};
    use prost::Message;

    #[tokio::test]
    async fn the_payload_is_the_frame_without_prefix_and_shares_the_buffer() {
        let bus = Bus::new(4);
        let mut rx = bus.subscribe();
        // Long enough that the prefix takes two bytes.
        let health = SensorHealth {
            last_error: "x".repeat(300),
            ..Default::default()
        };
        bus.publish("gps", Body::Health(health));
        let Received::Frame(p) = rx.recv().await else {
            panic!()
        };
        let b = frame_bytes(&p);
        assert_eq!(b.len() + 2, p.bytes().len());
        assert_eq!(b.as_ptr(), p.bytes()[2..].as_ptr());
        assert_eq!(&Frame::decode(b).unwrap(), p.frame());
    }
}
