//! Process signals: the first SIGINT or SIGTERM cancels the daemon's token
//! (graceful shutdown); a second one exits the process at once.

use std::io;

use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Exit status after a second signal (128 + SIGINT, as shells report it).
pub const FORCED_EXIT_STATUS: i32 = 130;

/// Installs the SIGINT/SIGTERM handlers now (so a signal that arrives during
/// start-up is not fatal) and spawns the task that acts on them: the first
/// cancels `token`, a second calls `std::process::exit(130)`.
pub fn spawn_signal_handler(token: CancellationToken) -> io::Result<JoinHandle<()>> {
    spawn_signal_handler_with(token, |_| std::process::exit(FORCED_EXIT_STATUS))
}

/// [`spawn_signal_handler`] with the action on a second signal supplied by
/// the caller (it gets the signal's name), so the behaviour can be tested
/// without ending the process.
pub fn spawn_signal_handler_with(
    token: CancellationToken,
    on_second: impl FnOnce(&'static str) + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::spawn(async move {
        let first = tokio::select! {
            _ = term.recv() => Some("SIGTERM"),
            _ = int.recv() => Some("SIGINT"),
            _ = token.cancelled() => None,
        };
        if let Some(first) = first {
            tracing::info!(signal = first, "shutdown requested");
            token.cancel();
        }
        let second = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::error!(signal = second, "second signal: exiting without draining");
        on_second(second);
    }))
}
