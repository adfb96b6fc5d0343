//! Whether the kernel says the host clock is synchronized (NTP, chrony,
//! systemd-timesyncd, PTP: anything that disciplines it through the
//! kernel), read with a read-only `adjtimex(2)`.
//!
//! dronetel uses it as evidence for GPS week rollover correction: a
//! receiver date 1024·k weeks behind a synchronized host clock is a
//! rollover (see `crates/wire/NMEA.md`). Neither `nix` nor `rustix` wraps
//! `adjtimex`, so this crate holds the one `unsafe` call of the project,
//! apart from the crates that forbid it.
//!
//! # Layout
//! - [`kernel_synchronized`]: the query.
#![deny(unsafe_code)]

use std::io;

use libc::{STA_UNSYNC, TIME_ERROR};

/// Asks the kernel whether the system clock is synchronized: `adjtimex`
/// does not return `TIME_ERROR` and `STA_UNSYNC` is clear. A clock nobody
/// disciplines (no NTP daemon, a board without RTC after boot) is not.
pub fn kernel_synchronized() -> io::Result<bool> {
    let (ret, status) = adjtimex_read()?;
    Ok(ret != TIME_ERROR && status & STA_UNSYNC == 0)
}

/// A read-only `adjtimex` (`modes` 0): its return value and `status`.
#[allow(unsafe_code)]
fn adjtimex_read() -> io::Result<(libc::c_int, libc::c_int)> {
    // SAFETY: `timex` is a plain C struct of integers for which all-zero
    // is a valid value; `modes` = 0 asks the kernel to change nothing and
    // only fill the struct, which lives for the whole call.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `tx` is a valid, exclusively borrowed `timex`.
    let ret = unsafe { libc::adjtimex(&mut tx) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((ret, tx.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_answers() {
        // Either answer is right on a test machine; the call must work.
        assert!(kernel_synchronized().is_ok());
    }
}
