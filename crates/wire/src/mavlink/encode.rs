//! MAVLink frame builders on top of the `mavlink` crate's serializer.

use mavlink::{MAVLinkV1MessageRaw, MAVLinkV2MessageRaw, MavHeader, MavlinkVersion};

use super::common::{MavCmd, MavMessage, COMMAND_LONG_DATA};
use super::RateRequest;

/// Appends one complete frame (STX … CRC) of `msg` in `version` to `out`.
pub fn frame(version: MavlinkVersion, header: MavHeader, msg: &MavMessage, out: &mut Vec<u8>) {
    match version {
        MavlinkVersion::V1 => {
            let mut raw = MAVLinkV1MessageRaw::new();
            raw.serialize_message(header, msg);
            out.extend_from_slice(raw.raw_bytes());
        }
        MavlinkVersion::V2 => {
            let mut raw = MAVLinkV2MessageRaw::new();
            raw.serialize_message(header, msg);
            out.extend_from_slice(raw.raw_bytes());
        }
    }
}

/// Appends one MAVLink 2 frame of `msg`, signed by `signer`, to `out`.
pub(crate) fn signed_frame(
    header: MavHeader,
    msg: &MavMessage,
    signer: &mut super::signing::Signer,
    out: &mut Vec<u8>,
) {
    let mut raw = MAVLinkV2MessageRaw::new();
    raw.serialize_message_for_signing(header, msg);
    signer.sign(&mut raw);
    out.extend_from_slice(raw.raw_bytes());
}

/// Every MAVLink 2 frame of `stream` again, signed with `key` as an
/// autopilot sharing the key would send it (timestamps increasing);
/// anything else (MAVLink 1 frames, junk) is left out. What a benchmark or
/// a simulator needs to produce a signed link from an unsigned recording.
pub fn sign_stream(key: &super::SigningKey, stream: &[u8]) -> Vec<u8> {
    use super::common::MavMessage;
    let mut reader = mavlink::MavlinkReader::new(stream);
    let mut signer = super::signing::Signer::new(key.clone());
    let mut out = Vec::with_capacity(stream.len() + stream.len() / 4);
    // A read error other than the end is a frame the reader skipped.
    loop {
        match reader.read_message::<MavMessage>(mavlink::MavlinkVersion::V2) {
            Ok((header, msg)) => signed_frame(header, &msg, &mut signer, &mut out),
            Err(mavlink::error::MessageReadError::Io(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break
            }
            Err(_) => continue,
        }
    }
    out
}

/// The `COMMAND_LONG(MAV_CMD_SET_MESSAGE_INTERVAL)` asking `target` for
/// one message rate.
pub fn set_message_interval(target_system: u8, target_component: u8, r: RateRequest) -> MavMessage {
    let interval_us = r.interval.as_micros().min(i32::MAX as u128) as f32;
    MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
        target_system,
        target_component,
        command: MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
        confirmation: 0,
        param1: r.message_id as f32,
        param2: interval_us,
        param3: 0.0,
        param4: 0.0,
        param5: 0.0,
        param6: 0.0,
        param7: 0.0,
    })
}
