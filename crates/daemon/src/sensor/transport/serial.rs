//! The serial transport: a device (or pty) opened through tokio-serial at a
//! fixed line speed.

use std::io;
use std::path::PathBuf;

use tokio_serial::{SerialPortBuilderExt, SerialStream};

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
    type Port = SerialStream;

    async fn open(&self) -> io::Result<SerialStream> {
        tokio_serial::new(self.path.to_string_lossy(), self.baud)
            .open_native_async()
            .map_err(io::Error::from)
    }

    fn device(&self) -> String {
        self.path.display().to_string()
    }
}
