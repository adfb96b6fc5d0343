//! The delimited frame stream survives any chunking, and its JSON mapping
//! uses the proto field names.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::BytesMut;
use dronetel_proto::v1::{frame::Body, Frame, GpsFix, SensorHealth, SensorState};
use dronetel_proto::{encode_delimited, FrameCodec, FrameCodecError};
use tokio_util::codec::{Decoder, Encoder};

fn sample_frames() -> Vec<Frame> {
    (1..=20u64)
        .map(|seq| Frame {
            seq,
            sensor: format!("gps{}", seq % 3),
            received_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000 + seq as i64,
                nanos: 5_000_000,
            }),
            body: Some(if seq % 4 == 0 {
                Body::Health(SensorHealth {
                    state: SensorState::Online as i32,
                    messages_ok: seq * 10,
                    ..Default::default()
                })
            } else {
                Body::Gps(GpsFix {
                    latitude_deg: Some(47.0 + seq as f64 * 1e-7),
                    longitude_deg: Some(8.5),
                    // Some frames are big enough for a two-byte length prefix.
                    talker: "GN".repeat(seq as usize * 4),
                    ..Default::default()
                })
            }),
        })
        .collect()
}

#[test]
fn every_chunk_size_yields_every_frame() {
    let frames = sample_frames();
    let stream: Vec<u8> = frames
        .iter()
        .flat_map(|f| encode_delimited(f).to_vec())
        .collect();
    for chunk in 1..=stream.len() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                out.push(f);
            }
        }
        assert_eq!(out, frames, "chunk size {chunk}");
        assert!(buf.is_empty());
    }
}

#[test]
fn encoder_and_encode_delimited_agree() {
    let mut codec = FrameCodec::default();
    for f in sample_frames() {
        let mut buf = BytesMut::new();
        codec.encode(&f, &mut buf).unwrap();
        assert_eq!(&buf[..], &encode_delimited(&f)[..]);
    }
}

#[test]
fn oversized_length_is_refused_before_buffering() {
    let mut codec = FrameCodec::new(100);
    let mut buf = BytesMut::new();
    prost::encoding::encode_varint(101, &mut buf);
    match codec.decode(&mut buf) {
        Err(FrameCodecError::TooLong { len: 101, max: 100 }) => {}
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn garbage_length_prefix_is_an_error_not_a_hang() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&[0xffu8; 11][..]);
    assert!(codec.decode(&mut buf).is_err());
}

#[test]
fn json_uses_proto_field_names_and_string_u64() {
    let frame = Frame {
        seq: 7,
        sensor: "gps".into(),
        received_at: Some(prost_types::Timestamp {
            seconds: 0,
            nanos: 0,
        }),
        body: Some(Body::Gps(GpsFix {
            latitude_deg: Some(47.5),
            satellites_used: Some(0),
            ..Default::default()
        })),
    };
    let json: serde_json::Value =
        serde_json::from_str(&dronetel_proto::json::frame_to_json(&frame)).unwrap();
    assert_eq!(json["seq"], "7");
    assert_eq!(json["sensor"], "gps");
    assert_eq!(json["received_at"], "1970-01-01T00:00:00Z");
    assert_eq!(json["gps"]["latitude_deg"], 47.5);
    // A reported zero is present; an unknown value is absent.
    assert_eq!(json["gps"]["satellites_used"], 0);
    assert!(json["gps"].get("longitude_deg").is_none());
}
