//! A pseudo-terminal playing a serial port: the slave is linked under the
//! link directory for the daemon to open; the simulator writes to the master.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::SimError;

/// Longest wait for room in the pty before a blocked write is retried.
const WRITE_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// One pty pair and the symlink naming its slave.
///
/// The slave fd stays open for the pty's whole life (as socat does), so the
/// daemon can close and reopen the device without the pty hanging up.
/// Dropping a `Pty` closes both ends (the daemon's reads then fail) and
/// removes the link.
#[derive(Debug)]
pub(crate) struct Pty {
    master: AsyncFd<OwnedFd>,
    _slave: OwnedFd,
    slave_path: PathBuf,
    link: PathBuf,
}

/// What happened to one burst written with [`Pty::write_or_drop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteOutcome {
    /// Bytes the pty accepted.
    pub(crate) written: usize,
    /// Bytes dropped because the pty buffer was full.
    pub(crate) dropped: usize,
}

impl Pty {
    /// Opens a raw pty and links its slave at `link` (atomically: a symlink
    /// under a temporary name, then a rename over `link`).
    pub(crate) fn open(link: &Path) -> Result<Pty, SimError> {
        let err = |op: &'static str| {
            let link = link.to_path_buf();
            move |e: Errno| SimError::Pty {
                op,
                link,
                source: io::Error::from(e),
            }
        };
        // Both ends are opened close-on-exec in the same call (never with a
        // later fcntl): a process spawned meanwhile by another thread must
        // not inherit them, or closing ours would no longer hang the pty up.
        let master =
            posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
                .map_err(err("posix_openpt"))?;
        grantpt(&master).map_err(err("grantpt"))?;
        unlockpt(&master).map_err(err("unlockpt"))?;
        let slave_path = PathBuf::from(ptsname_r(&master).map_err(err("ptsname"))?);
        let slave = nix::fcntl::open(
            &slave_path,
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(err("open slave"))?;
        let mut t = tcgetattr(&slave).map_err(err("tcgetattr"))?;
        cfmakeraw(&mut t);
        tcsetattr(&slave, SetArg::TCSANOW, &t).map_err(err("tcsetattr"))?;
        let pair = (OwnedFd::from(master), slave);
        // `AsyncFd::with_interest` is deprecated because a registered fd of a
        // type that can be closed behind the reactor's back is unsound; its
        // replacement is `unsafe`, which the workspace forbids. Here the
        // `OwnedFd` moves into the `AsyncFd` and is only closed by dropping
        // it (which deregisters first), so the safe form is sound.
        #[allow(deprecated)]
        let master = AsyncFd::with_interest(pair.0, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| SimError::Pty {
                op: "register",
                link: link.to_path_buf(),
                source: e,
            })?;
        link_atomically(&slave_path, link)?;
        Ok(Pty {
            master,
            _slave: pair.1,
            slave_path,
            link: link.to_path_buf(),
        })
    }

    /// The pty slave device (e.g. `/dev/pts/7`) the link points to.
    pub(crate) fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// Writes `buf` without waiting: what the pty cannot take now is
    /// dropped, as a UART drops bytes nobody reads.
    pub(crate) fn write_or_drop(&self, buf: &[u8]) -> WriteOutcome {
        let mut written = 0;
        while written < buf.len() {
            match nix::unistd::write(self.master.get_ref(), &buf[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        WriteOutcome {
            written,
            dropped: buf.len() - written,
        }
    }

    /// Writes all of `buf`, waiting while the pty buffer is full (replay,
    /// where every byte must arrive).
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            // Wait for room; the timeout is only a safety net in case a
            // wake-up edge is missed, after which the write is simply retried.
            let result = match tokio::time::timeout(WRITE_RETRY, self.master.writable()).await {
                Ok(guard) => match guard?
                    .try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(io::Error::from))
                {
                    Ok(r) => r,
                    Err(_would_block) => continue,
                },
                Err(_elapsed) => {
                    nix::unistd::write(self.master.get_ref(), buf).map_err(io::Error::from)
                }
            };
            match result {
                Ok(n) => buf = &buf[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// [`read`](Self::read) of an open pty; waits forever while the
    /// device is unplugged (no pty), so it can sit in a `select!`.
    pub(crate) async fn read_or_wait(pty: Option<&Pty>, buf: &mut [u8]) -> io::Result<usize> {
        match pty {
            Some(p) => p.read(buf).await,
            None => std::future::pending().await,
        }
    }

    /// Waits for what the daemon wrote to the device and reads it into
    /// `buf`; returns the number of bytes read (0 never happens while the
    /// slave is open).
    pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard
                .try_io(|fd| nix::unistd::read(fd.get_ref().as_fd(), buf).map_err(io::Error::from))
            {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // Only remove the link if it still names our slave: a newer pty may
        // already have taken the path over.
        if std::fs::read_link(&self.link).is_ok_and(|p| p == self.slave_path) {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

/// Points `link` at `target` atomically: a symlink under a temporary name in
/// the same directory, renamed over `link`.
fn link_atomically(target: &Path, link: &Path) -> Result<(), SimError> {
    let err = |op: &'static str| {
        let link = link.to_path_buf();
        move |source: io::Error| SimError::Pty { op, link, source }
    };
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = link.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(err("symlink"))?;
    std::fs::rename(&tmp, link).map_err(err("rename link"))
}
