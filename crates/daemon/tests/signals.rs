//! Signal handling in-process: the first signal cancels the token, the
//! second triggers the immediate exit (here a callback instead of `exit`).
//! Alone in its binary because it signals its own process.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use dronetel::signals::spawn_signal_handler_with;
use nix::sys::signal::{raise, Signal};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn first_signal_cancels_second_signal_forces_exit() {
    let token = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = spawn_signal_handler_with(token.clone(), move |sig| {
        let _ = tx.send(sig);
    })
    .unwrap();

    raise(Signal::SIGTERM).unwrap();
    tokio::time::timeout(Duration::from_secs(10), token.cancelled())
        .await
        .expect("first SIGTERM did not cancel the token");

    raise(Signal::SIGINT).unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("second signal did not force the exit")
        .unwrap();
    assert_eq!(second, "SIGINT");
    task.await.unwrap();
}
