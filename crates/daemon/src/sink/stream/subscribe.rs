//! The optional first message of a stream client: a varint-delimited
//! `Subscribe`. The daemon waits [`SUBSCRIBE_WAIT`] for it after accept; a
//! client that sends nothing gets everything.

use std::time::Duration;

use dronetel_proto::v1::Subscribe;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::selection::{Selection, SelectionError};

/// How long a new client has to send its `Subscribe`.
pub const SUBSCRIBE_WAIT: Duration = Duration::from_millis(200);

/// How long the rest of a `Subscribe` may take once its first byte came.
pub const SUBSCRIBE_REST: Duration = Duration::from_secs(2);

/// Largest `Subscribe` accepted.
pub const MAX_SUBSCRIBE_LEN: usize = 4096;

/// Why a client's `Subscribe` was refused (the connection is closed).
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// Reading failed.
    #[error("reading subscribe: {0}")]
    Io(#[from] std::io::Error),
    /// The length prefix was bad or too long.
    #[error("subscribe length prefix invalid or over {MAX_SUBSCRIBE_LEN} bytes")]
    Length,
    /// The client closed after part of a message.
    #[error("connection closed inside the subscribe message")]
    Truncated,
    /// The client sent the start of a message but not the rest in time
    /// (a slowloris holding a client slot).
    #[error("subscribe message not completed within {} s", SUBSCRIBE_REST.as_secs())]
    TooSlow,
    /// The bytes are not a `Subscribe`.
    #[error("invalid subscribe message: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The values are not usable.
    #[error(transparent)]
    Invalid(#[from] SelectionError),
}

impl SubscribeError {
    /// A short key for the connection log.
    pub fn cause(&self) -> &'static str {
        match self {
            SubscribeError::Io(_) => "reset",
            SubscribeError::TooSlow => "slow_subscribe",
            _ => "bad_subscribe",
        }
    }
}

/// Reads the optional `Subscribe`, waiting at most `wait` for its first
/// byte. `Ok(None)`: the client sent nothing (or closed its write side).
pub async fn read_subscribe<R: AsyncRead + Unpin>(
    r: &mut R,
    wait: Duration,
) -> Result<Option<Selection>, SubscribeError> {
    let mut first = [0u8; 1];
    let n = match tokio::time::timeout(wait, r.read(&mut first)).await {
        Err(_) => return Ok(None),
        Ok(n) => n?,
    };
    if n == 0 {
        return Ok(None);
    }
    // The rest of the message must follow promptly.
    let rest = async {
        let mut len: u64 = 0;
        let mut b = first[0];
        let mut shift = 0;
        loop {
            len |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 21 {
                return Err(SubscribeError::Length);
            }
            b = read_byte(r).await?;
        }
        let len = usize::try_from(len).map_err(|_| SubscribeError::Length)?;
        if len > MAX_SUBSCRIBE_LEN {
            return Err(SubscribeError::Length);
        }
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => SubscribeError::Truncated,
            _ => SubscribeError::Io(e),
        })?;
        let s = Subscribe::decode(&buf[..])?;
        Ok(Some(Selection::from_subscribe(&s)?))
    };
    match tokio::time::timeout(SUBSCRIBE_REST, rest).await {
        Ok(r) => r,
        Err(_) => Err(SubscribeError::TooSlow),
    }
}

async fn read_byte<R: AsyncRead + Unpin>(r: &mut R) -> Result<u8, SubscribeError> {
    let mut b = [0u8; 1];
    match r.read(&mut b).await? {
        0 => Err(SubscribeError::Truncated),
        _ => Ok(b[0]),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::selection::Kind;
    use dronetel_proto::v1::{FrameKind, RateLimit};
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_gets_everything_after_the_wait() {
        let (mut a, _b) = tokio::io::duplex(64);
        assert!(read_subscribe(&mut a, SUBSCRIBE_WAIT)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_subscribe_is_read_at_every_chunking() {
        let s = Subscribe {
            sensors: vec!["gps0".into()],
            kinds: vec![FrameKind::Gps as i32],
            max_rate: vec![RateLimit {
                kind: FrameKind::Gps as i32,
                max_hz: 2.0,
            }],
        };
        let bytes = s.encode_length_delimited_to_vec();
        for chunk in 1..=bytes.len() {
            let (mut a, mut b) = tokio::io::duplex(64);
            let data = bytes.clone();
            let w = tokio::spawn(async move {
                for c in data.chunks(chunk) {
                    b.write_all(c).await.unwrap();
                    tokio::task::yield_now().await;
                }
                b
            });
            let sel = read_subscribe(&mut a, SUBSCRIBE_WAIT)
                .await
                .unwrap()
                .unwrap();
            let _b = w.await.unwrap();
            assert!(sel.sensors.contains("gps0") && sel.kinds.contains(&Kind::Gps));
            assert_eq!(sel.min_interval[&Kind::Gps], Duration::from_millis(500));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscribe_that_never_completes_is_named_as_too_slow() {
        let (mut a, mut b) = tokio::io::duplex(64);
        // A length of 5, then two bytes, then nothing: the connection stays open.
        b.write_all(&[5, 1, 2]).await.unwrap();
        let e = read_subscribe(&mut a, SUBSCRIBE_WAIT).await.unwrap_err();
        assert_eq!(e.to_string(), "subscribe message not completed within 2 s");
        assert_eq!(e.cause(), "slow_subscribe");
        drop(b);
    }

    #[tokio::test]
    async fn bad_subscribes_are_refused_with_a_reason() {
        let zero_rate = Subscribe {
            max_rate: vec![RateLimit {
                kind: FrameKind::Gps as i32,
                max_hz: 0.0,
            }],
            ..Default::default()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (zero_rate.encode_length_delimited_to_vec(), "max_hz"),
            (vec![0xff, 0xff, 0xff, 0xff, 0x01], "length"),
            (vec![5, 1, 2], "closed"),
            (vec![2, 0xff, 0xff], "invalid subscribe"),
        ];
        for (bytes, want) in cases {
            let (mut a, mut b) = tokio::io::duplex(64);
            b.write_all(&bytes).await.unwrap();
            drop(b);
            let e = read_subscribe(&mut a, SUBSCRIBE_WAIT).await.unwrap_err();
            assert!(e.to_string().contains(want), "{e} lacks {want}");
        }
    }
}
