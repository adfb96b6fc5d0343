//! The daemon does not run as root: it needs only read/write access to the
//! serial devices (the `dialout` group on Debian-like systems), and a
//! parser fed by radios and USB devices should not hold root's powers.
//! `dronetel run` refuses root unless `--allow-root` is given; the other
//! subcommands are tools (the `demo` runs an in-process daemon on
//! simulated ptys for a first look and is allowed as root).

/// Exit status when refusing to run as root (`EX_NOPERM` of sysexits.h).
pub const EX_NOPERM: u8 = 77;

/// Why `run` refused to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to run as root: dronetel needs only access to the serial devices \
     (add its user to the `dialout` group); pass --allow-root to run as root anyway"
)]
pub struct RootRefused;

/// Checks the effective user of this process: `Err` if it is root and
/// `allow_root` is false. (The caller logs a warning when root is allowed,
/// once the configuration is known to be good.)
pub fn check_not_root(allow_root: bool) -> Result<(), RootRefused> {
    check(nix::unistd::geteuid().is_root(), allow_root)
}

fn check(is_root: bool, allow_root: bool) -> Result<(), RootRefused> {
    if is_root && !allow_root {
        return Err(RootRefused);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_refused_unless_allowed() {
        assert_eq!(check(true, false), Err(RootRefused));
        assert_eq!(check(true, true), Ok(()));
        assert_eq!(check(false, false), Ok(()));
        assert_eq!(check(false, true), Ok(()));
        assert!(RootRefused.to_string().contains("--allow-root"));
    }
}
