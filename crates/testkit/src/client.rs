//! Stream clients: a Unix or TCP connection to the daemon's stream sink,
//! decoding the delimited frame stream.

use std::net::SocketAddr;
use std::time::Instant;

use dronetel_proto::v1::{Frame, Subscribe};
use dronetel_proto::FrameCodec;
use futures_util::StreamExt;
use prost::Message;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_util::codec::FramedRead;

use crate::DEADLINE;

/// A stream client reading delimited frames, on the Unix socket unless
/// made over TCP ([`Client::connect`]): every test reads frames the same
/// way, whatever the socket.
pub struct Client<S = UnixStream> {
    /// The decoded frame stream, for tests that read it directly.
    pub frames: FramedRead<S, FrameCodec>,
}

impl<S: AsyncRead + Unpin> Client<S> {
    /// The next frame, or `None` at end of stream. Panics after [`DEADLINE`].
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(DEADLINE, self.frames.next())
            .await
            .expect("no frame within the deadline")
            .map(|r| r.unwrap())
    }

    /// Reads until `pred` matches a frame and returns it; panics when the
    /// stream ends first or after [`DEADLINE`].
    pub async fn until(&mut self, what: &str, mut pred: impl FnMut(&Frame) -> bool) -> Frame {
        let t0 = Instant::now();
        loop {
            let f = self
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended waiting for {what}"));
            if pred(&f) {
                return f;
            }
            assert!(t0.elapsed() < DEADLINE, "no {what} within {DEADLINE:?}");
        }
    }
}

impl Client<TcpStream> {
    /// Connects over TCP, sending `sub` first when given (a consumer that
    /// chooses what it receives).
    pub async fn connect(addr: SocketAddr, sub: Option<&Subscribe>) -> Self {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if let Some(sub) = sub {
            s.write_all(&sub.encode_length_delimited_to_vec())
                .await
                .unwrap();
        }
        Client {
            frames: FramedRead::new(s, FrameCodec::default()),
        }
    }
}
