//! The serial transport: a device (or pty) opened through tokio-serial's
//! builder at a fixed line speed, read through [`SerialPort`].

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sensor::task::Opener;

/// A serial device and its line speed, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// Device path (prefer a stable `/dev/serial/by-id/...` link).
    pub path: PathBuf,
    /// Line speed in baud.
    pub baud: u32,
}

impl SerialConfig {
    /// A path that exists but cannot be a serial device this user may use
    /// (a directory; no read and write access, e.g. not in `dialout`). A
    /// missing path is fine: a USB device may be plugged in later.
    pub fn check_access(&self) -> Result<(), String> {
        use nix::unistd::{access, AccessFlags};
        let problem = match std::fs::metadata(&self.path) {
            Err(_) => None,
            Ok(m) if m.is_dir() => Some("is a directory, not a serial device".to_owned()),
            Ok(_) => access(&self.path, AccessFlags::R_OK | AccessFlags::W_OK)
                .err()
                .map(|e| {
                    format!(
                        "cannot be opened for reading and writing ({e}); is the user in the group that owns it (dialout)?"
                    )
                }),
        };
        match problem {
            Some(p) => Err(format!("device {} {p}", self.path.display())),
            None => Ok(()),
        }
    }
}

/// Opens a serial device (or pty) at a fixed baud rate.
#[derive(Debug, Clone)]
pub struct SerialOpener {
    /// Device path.
    pub path: PathBuf,
    /// Line speed.
    pub baud: u32,
}

impl Opener for SerialOpener {
    type Port = SerialPort;
    const SHORT_READ_DRAINS: bool = true;

    async fn open(&self) -> io::Result<SerialPort> {
        let builder = tokio_serial::new(self.path.to_string_lossy(), self.baud);
        // Opened exclusively (TIOCEXCL) and non-blocking, as tokio-serial's
        // own stream is.
        let port = mio_serial::SerialStream::open(&builder).map_err(io::Error::from)?;
        // tokio deprecates `AsyncFd::new` because an arbitrary `AsRawFd`
        // could close or swap its descriptor while registered. This one
        // owns its descriptor until dropped, and the AsyncFd owns it: the
        // same registration tokio-serial makes for its own stream.
        #[allow(deprecated)]
        let fd = AsyncFd::new(port)?;
        Ok(SerialPort { fd })
    }

    fn device(&self) -> String {
        self.path.display().to_string()
    }
}

/// An open serial device on the runtime's reactor. tokio-serial's stream
/// reads again after every read until the device answers EAGAIN; this one
/// takes a read that returned less than asked as proof the device is
/// drained (as tokio's sockets do) and waits for the next readiness event:
/// one system call less per burst, a GPS cycle being one burst.
#[derive(Debug)]
pub struct SerialPort {
    fd: AsyncFd<mio_serial::SerialStream>,
}

impl AsyncRead for SerialPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let asked = unfilled.len();
            match guard.try_io(|port| port.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    if 0 < n && n < asked {
                        // Edge-triggered readiness: bytes arriving after
                        // this read raise a new event, which keeps the
                        // readiness this clears (tokio compares ticks).
                        guard.clear_ready();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for SerialPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|port| port.get_ref().write(buf)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|port| port.get_ref().flush()) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
