//! [`QuietWriter`]: a stream client's socket written without being
//! registered with the reactor while writes succeed.
//!
//! A tokio socket is registered for both directions, so every time a client
//! reads what was sent, the freed buffer space raises a writability edge that
//! wakes the daemon for nothing (measured: a third of its wake-ups at nominal
//! rates). The client writer never reads after the `Subscribe`, and a write
//! only needs the reactor when the socket buffer is full: so the socket is
//! written directly (non-blocking), and only a write that would block
//! registers a duplicate of the socket for writability, until it succeeds.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncWrite, Interest};

/// A connected non-blocking std socket the writer can duplicate.
pub trait Socket: AsRawFd + Send + Sync + Unpin + Sized + 'static {
    /// A second descriptor of the same socket.
    fn try_clone(&self) -> io::Result<Self>;
    /// One non-blocking write.
    fn write_some(&self, buf: &[u8]) -> io::Result<usize>;
    /// Shuts the sending direction down (end of stream for the client).
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Socket for std::net::TcpStream {
    fn try_clone(&self) -> io::Result<Self> {
        std::net::TcpStream::try_clone(self)
    }
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

impl Socket for std::os::unix::net::UnixStream {
    fn try_clone(&self) -> io::Result<Self> {
        std::os::unix::net::UnixStream::try_clone(self)
    }
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

/// Writes a socket directly, waiting on the reactor only when it is full.
#[derive(Debug)]
pub struct QuietWriter<S: Socket> {
    sock: S,
    /// Registered for writability while a write would block.
    waiter: Option<AsyncFd<S>>,
}

impl<S: Socket> QuietWriter<S> {
    /// Wraps a socket already in non-blocking mode (as tokio's `into_std`
    /// returns it).
    pub fn new(sock: S) -> Self {
        QuietWriter { sock, waiter: None }
    }
}

impl<S: Socket> AsyncWrite for QuietWriter<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(waiter) = &this.waiter {
                let mut guard = ready!(waiter.poll_write_ready(cx))?;
                match guard.try_io(|fd| fd.get_ref().write_some(buf)) {
                    Ok(r) => {
                        // Writable again: leave the reactor (no more edges).
                        this.waiter = None;
                        return Poll::Ready(r);
                    }
                    Err(_would_block) => continue,
                }
            }
            match this.sock.write_some(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // `AsyncFd::with_interest` is deprecated because a
                    // registered fd that can be closed behind the reactor's
                    // back is unsound; its replacement is `unsafe`, which
                    // the workspace forbids. The duplicate moves into the
                    // `AsyncFd` and is closed only by dropping it (which
                    // deregisters first), so the safe form is sound here.
                    #[allow(deprecated)]
                    let waiter =
                        AsyncFd::with_interest(this.sock.try_clone()?, Interest::WRITABLE)?;
                    this.waiter = Some(waiter);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.sock.shutdown_write())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Far more than a socket buffer holds: the writer must wait for the
    /// reader (the registered path) and lose nothing.
    #[tokio::test]
    async fn a_full_socket_waits_for_the_reader_and_loses_nothing() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = QuietWriter::new(a);
        // Fill the buffer first so the write below has to wait.
        let mut pre = 0;
        while let Ok(n) = w.sock.write_some(&data[pre..]) {
            pre += n;
        }
        let mut reader = tokio::net::UnixStream::from_std(b).unwrap();
        let read = tokio::spawn(async move {
            let mut got = Vec::new();
            reader.read_to_end(&mut got).await.unwrap();
            got
        });
        w.write_all(&data[pre..]).await.unwrap();
        w.shutdown().await.unwrap();
        drop(w);
        assert_eq!(read.await.unwrap(), data);
    }

    #[tokio::test]
    async fn a_closed_peer_is_an_error() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        drop(b);
        let mut w = QuietWriter::new(a);
        assert!(w.write_all(b"frame").await.is_err());
    }
}
