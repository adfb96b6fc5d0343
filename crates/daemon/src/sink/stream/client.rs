//! One stream client: takes frames from its bus receiver and writes them,
//! gathering everything already queued into one write.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::bus::Received;
use crate::sink::frames::SinkFrames;
use crate::sink::stats::SinkStats;

/// Most bytes gathered into one write.
const MAX_BATCH: usize = 64 * 1024;

/// Limits applied to one client.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    /// Frames the client may lose before it is disconnected (0: never).
    pub max_drops: u64,
    /// Longest one write may block before the client is disconnected.
    pub write_timeout: Duration,
}

/// Why a client's connection ended.
#[derive(Debug)]
pub enum ClientEnd {
    /// The bus closed (shutdown) after everything was written.
    Drained,
    /// The client lost more frames than allowed.
    TooSlow,
    /// A write blocked longer than the write timeout.
    WriteTimeout,
    /// Writing failed (the client went away).
    Gone(std::io::Error),
}

/// What a client's connection did, for the log line at its end.
#[derive(Debug)]
pub struct ClientSummary {
    /// Why it ended.
    pub end: ClientEnd,
    /// Frames written to it.
    pub frames: u64,
    /// Frames it lost because it fell behind.
    pub dropped: u64,
}

/// Writes every frame of `rx` to `w` until the bus closes or the client
/// fails or falls too far behind. Frames queued together go out in one
/// `write_all`. On a drained bus the writer is shut down cleanly.
pub async fn serve_client<W: AsyncWrite + Unpin>(
    mut w: W,
    rx: impl Into<SinkFrames>,
    limits: ClientLimits,
) -> ClientSummary {
    let mut rx = rx.into();
    let mut frames = 0;
    let end = write_frames(&mut w, &mut rx, limits, &mut frames).await;
    if matches!(end, ClientEnd::Drained) {
        let _ = w.shutdown().await;
    }
    ClientSummary {
        end,
        frames,
        dropped: rx.dropped(),
    }
}

async fn write_frames<W: AsyncWrite + Unpin>(
    w: &mut W,
    rx: &mut SinkFrames,
    limits: ClientLimits,
    frames: &mut u64,
) -> ClientEnd {
    let mut batch = BytesMut::with_capacity(MAX_BATCH);
    loop {
        let first = match rx.recv().await {
            Received::Frame(p) => p,
            Received::Closed => return ClientEnd::Drained,
        };
        batch.clear();
        batch.extend_from_slice(first.bytes());
        let mut n = 1;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Some(p) => {
                    batch.extend_from_slice(p.bytes());
                    n += 1;
                }
                None => break,
            }
        }
        if limits.max_drops > 0 && rx.dropped() > limits.max_drops {
            return ClientEnd::TooSlow;
        }
        let write = async {
            w.write_all(&batch).await?;
            w.flush().await
        };
        match tokio::time::timeout(limits.write_timeout, write).await {
            Err(_) => return ClientEnd::WriteTimeout,
            Ok(Err(e)) => return ClientEnd::Gone(e),
            Ok(Ok(())) => {
                *frames += n;
                let stats = rx.stats();
                SinkStats::add(&stats.sent, n);
                SinkStats::add(&stats.bytes, batch.len() as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::bus::Bus;
    use dronetel_proto::v1::{frame::Body, SensorHealth};
    use dronetel_proto::FrameCodec;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio_util::codec::Decoder;

    fn body() -> Body {
        Body::Health(SensorHealth::default())
    }

    /// Records the size of every write call.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<usize>,
        data: Vec<u8>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.writes.push(buf.len());
            self.data.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn queued_frames_go_out_in_one_write_and_drain_on_close() {
        let bus = Bus::new(64);
        let rx = bus.subscribe();
        for _ in 0..10 {
            bus.publish("gps", body());
        }
        drop(bus);
        let mut rec = Recorder::default();
        let limits = ClientLimits {
            max_drops: 0,
            write_timeout: Duration::from_secs(5),
        };
        let sum = serve_client(&mut rec, rx, limits).await;
        assert!(matches!(sum.end, ClientEnd::Drained));
        assert_eq!((sum.frames, sum.dropped), (10, 0));
        assert_eq!(rec.writes.len(), 1, "ten queued frames, one write");
        let mut buf = BytesMut::from(&rec.data[..]);
        let mut codec = FrameCodec::default();
        let seqs: Vec<u64> = std::iter::from_fn(|| codec.decode(&mut buf).unwrap())
            .map(|f| f.seq)
            .collect();
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_client_over_the_drop_limit_is_disconnected() {
        let bus = Bus::new(2);
        let rx = bus.subscribe();
        for _ in 0..10 {
            bus.publish("gps", body());
        }
        let limits = ClientLimits {
            max_drops: 5,
            write_timeout: Duration::from_secs(5),
        };
        let sum = serve_client(tokio::io::sink(), rx, limits).await;
        assert!(matches!(sum.end, ClientEnd::TooSlow), "{sum:?}");
        assert_eq!((sum.frames, sum.dropped), (0, 8));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_blocks_past_the_timeout_disconnects() {
        let bus = Bus::new(8);
        let rx = bus.subscribe();
        let (w, _r_kept_unread) = tokio::io::duplex(16);
        bus.publish("gps", body());
        bus.publish("gps", body());
        let limits = ClientLimits {
            max_drops: 0,
            write_timeout: Duration::from_secs(5),
        };
        let sum = serve_client(w, rx, limits).await;
        assert!(matches!(sum.end, ClientEnd::WriteTimeout), "{sum:?}");
    }
}
