//! The Foxglove WebSocket protocol as dronetel speaks it: subprotocol
//! negotiation, the server's JSON messages (`serverInfo`, `advertise`,
//! `status`), the client's (`subscribe`, `unsubscribe`) and the binary
//! message-data frame. `foxglove.websocket.v1` (the published spec of
//! foxglove/ws-protocol) and `foxglove.sdk.v1` (what Foxglove SDK servers
//! speak) carry these messages identically, inline schemas included.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The subprotocols the server accepts, in order of preference.
pub const SUBPROTOCOLS: [&str; 2] = ["foxglove.sdk.v1", "foxglove.websocket.v1"];

/// Binary opcode of a message-data frame (server → client).
pub const OP_MESSAGE_DATA: u8 = 0x01;

/// The subprotocol to answer a client offering `offered` (the values of its
/// `Sec-WebSocket-Protocol` headers, comma-separated lists), if any.
pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let offered: Vec<&str> = offered
        .into_iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    SUBPROTOCOLS.into_iter().find(|p| offered.contains(p))
}

/// One advertised channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    /// Server-assigned id, stable for the server's life.
    pub id: u32,
    /// `<sensor>/<kind>` or `<sensor>/<suffix>` of a well-known schema.
    pub topic: String,
    /// Message encoding: `protobuf`.
    pub encoding: &'static str,
    /// Full protobuf name of the message.
    pub schema_name: &'static str,
    /// The base64 of the encoded `FileDescriptorSet`.
    pub schema: String,
    /// Schema encoding: `protobuf`.
    pub schema_encoding: &'static str,
}

impl ChannelInfo {
    /// A protobuf channel `id` on `topic` of message `schema_name`, decoded
    /// with `descriptor_set`.
    pub fn protobuf(
        id: u32,
        topic: String,
        schema_name: &'static str,
        descriptor_set: &[u8],
    ) -> Self {
        Self {
            id,
            topic,
            encoding: "protobuf",
            schema_name,
            schema: base64::engine::general_purpose::STANDARD.encode(descriptor_set),
            schema_encoding: "protobuf",
        }
    }
}

/// A JSON message of the server.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum ServerMessage<'a> {
    /// First message on every connection.
    #[serde(rename_all = "camelCase")]
    ServerInfo {
        /// The server's name.
        name: &'a str,
        /// Optional features: none (no client publishing, parameters, ...).
        capabilities: [&'a str; 0],
        /// Encodings clients may publish in: none.
        supported_encodings: [&'a str; 0],
        /// Free-form facts.
        metadata: std::collections::BTreeMap<&'a str, &'a str>,
        /// Identifies this server run (clients reset state when it changes).
        session_id: &'a str,
    },
    /// Channels now available.
    Advertise {
        /// Them.
        channels: Vec<&'a ChannelInfo>,
    },
    /// Something the client should know (a refused request).
    Status {
        /// 0 info, 1 warning, 2 error.
        level: u8,
        /// What happened.
        message: &'a str,
    },
}

impl ServerMessage<'_> {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        // Plain structs of strings and numbers: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One requested subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Client-chosen id, echoed in every message-data frame.
    pub id: u32,
    /// The channel.
    pub channel_id: u32,
}

/// A JSON message of a client that the server acts on.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum ClientMessage {
    /// Start receiving channels.
    Subscribe {
        /// Subscription ids and their channels.
        subscriptions: Vec<Subscription>,
    },
    /// Stop receiving.
    #[serde(rename_all = "camelCase")]
    Unsubscribe {
        /// Subscription ids to end.
        subscription_ids: Vec<u32>,
    },
}

/// Why a client message was not acted on.
#[derive(Debug, thiserror::Error)]
pub enum ClientMessageError {
    /// Valid JSON with an `op` this server does not offer.
    #[error("unsupported operation `{0}`")]
    Unsupported(String),
    /// Not a protocol message.
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Parses a client's text message.
pub fn parse_client(text: &str) -> Result<ClientMessage, ClientMessageError> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(m) => Ok(m),
        Err(e) => {
            #[derive(Deserialize)]
            struct Op {
                op: String,
            }
            match serde_json::from_str::<Op>(text) {
                Ok(Op { op }) if op != "subscribe" && op != "unsubscribe" => {
                    Err(ClientMessageError::Unsupported(op))
                }
                _ => Err(ClientMessageError::Malformed(e)),
            }
        }
    }
}

/// A message-data frame: opcode, subscription id (u32 LE), receive
/// timestamp in ns (u64 LE), payload.
pub fn message_data(subscription: u32, time_ns: u64, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(13 + payload.len());
    b.push(OP_MESSAGE_DATA);
    b.extend_from_slice(&subscription.to_le_bytes());
    b.extend_from_slice(&time_ns.to_le_bytes());
    b.extend_from_slice(payload);
    b
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_subprotocols_are_negotiated_and_others_refused() {
        assert_eq!(
            negotiate(["foxglove.websocket.v1"]),
            Some("foxglove.websocket.v1")
        );
        assert_eq!(
            negotiate(["foxglove.sdk.v1.1, foxglove.sdk.v1"]),
            Some("foxglove.sdk.v1")
        );
        assert_eq!(negotiate(["foxglove.sdk.v1.1", "chat"]), None);
        assert_eq!(negotiate([]), None);
    }

    #[test]
    fn client_messages_parse_and_unknown_ops_are_named() {
        assert_eq!(
            parse_client(r#"{"op":"subscribe","subscriptions":[{"id":3,"channelId":7}]}"#).unwrap(),
            ClientMessage::Subscribe {
                subscriptions: vec![Subscription {
                    id: 3,
                    channel_id: 7
                }]
            }
        );
        assert_eq!(
            parse_client(r#"{"op":"unsubscribe","subscriptionIds":[3]}"#).unwrap(),
            ClientMessage::Unsubscribe {
                subscription_ids: vec![3]
            }
        );
        assert!(matches!(
            parse_client(r#"{"op":"getParameters","parameterNames":[]}"#),
            Err(ClientMessageError::Unsupported(op)) if op == "getParameters"
        ));
        assert!(matches!(
            parse_client(r#"{"op":"subscribe"}"#),
            Err(ClientMessageError::Malformed(_))
        ));
        assert!(matches!(
            parse_client("[1"),
            Err(ClientMessageError::Malformed(_))
        ));
    }

    #[test]
    fn message_data_layout() {
        let b = message_data(0x0102_0304, 5, b"xy");
        assert_eq!(b, [1, 4, 3, 2, 1, 5, 0, 0, 0, 0, 0, 0, 0, b'x', b'y']);
    }
}
