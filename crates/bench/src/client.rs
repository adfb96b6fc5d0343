//! A stream client that notes when each GPS frame arrives. To stay cheap
//! with hundreds of clients in one process, it decodes only each frame's
//! head (`seq`, `sensor`) and fully decodes the GPS sensor's frames.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, BytesMut};
use dronetel_proto::v1::{frame::Body, Frame};
use prost::Message;
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;

/// The first fields of a `Frame`; prost skips the body without decoding it.
#[derive(Clone, PartialEq, prost::Message)]
struct FrameHead {
    #[prost(uint64, tag = "1")]
    seq: u64,
    #[prost(string, tag = "2")]
    sensor: String,
}

/// What one client received.
#[derive(Debug, Default)]
pub struct Received {
    /// Frames received (all sensors, health included).
    pub frames: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Each GPS fix: its UTC time and when it arrived.
    pub fixes: Vec<(SystemTime, Instant)>,
    /// Frames missing by `seq` (lost to lag).
    pub gaps: u64,
}

/// Connects to the daemon's Unix stream socket, retrying for up to
/// `deadline` while the daemon starts.
pub async fn connect(path: &Path, deadline: Duration) -> std::io::Result<UnixStream> {
    let until = Instant::now() + deadline;
    loop {
        match UnixStream::connect(path).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= until => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Reads frames until the connection ends or `stop` returns true for the
/// fixes received so far (checked after each GPS fix).
pub async fn receive(
    mut s: UnixStream,
    stop: impl Fn(&Received) -> bool,
) -> std::io::Result<Received> {
    let mut got = Received::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut last_seq = None;
    loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        let n = s.read_buf(&mut buf).await?;
        if n == 0 {
            return Ok(got);
        }
        let now = Instant::now();
        got.bytes += n as u64;
        let mut fix = false;
        while let Some(frame) = next_frame(&mut buf)? {
            let head = FrameHead::decode(&frame[..]).map_err(std::io::Error::other)?;
            got.frames += 1;
            if let Some(prev) = last_seq {
                got.gaps += head.seq.saturating_sub(prev + 1);
            }
            last_seq = Some(head.seq);
            if head.sensor != "gps" {
                continue;
            }
            let f = Frame::decode(&frame[..]).map_err(std::io::Error::other)?;
            if let Some(Body::Gps(g)) = f.body {
                let t = g.time.and_then(|t| SystemTime::try_from(t).ok());
                if let Some(t) = t {
                    got.fixes.push((t, now));
                    fix = true;
                }
            }
        }
        if fix && stop(&got) {
            return Ok(got);
        }
    }
}

/// Splits one varint-delimited frame off `buf`, if complete.
fn next_frame(buf: &mut BytesMut) -> std::io::Result<Option<bytes::Bytes>> {
    let mut peek = &buf[..];
    let before = peek.remaining();
    let len = match prost::encoding::decode_varint(&mut peek) {
        Ok(l) => l as usize,
        // Not even the prefix is complete yet (or it is garbage).
        Err(_) if buf.len() < 10 => return Ok(None),
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let prefix = before - peek.remaining();
    if buf.len() < prefix + len {
        return Ok(None);
    }
    buf.advance(prefix);
    Ok(Some(buf.split_to(len).freeze()))
}
