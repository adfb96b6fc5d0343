//! The one accept loop of every listening sink (stream TCP and Unix
//! socket, metrics): stops on cancellation, retries failed accepts with
//! capped backoff, and admits connections through a semaphore whose
//! permit moves into the connection's task. Refused connections go to the
//! listener's [`ConnLog`] (one line, then a summary per interval).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::sink::conn_log::ConnLog;

/// A listener the accept loop can drive.
pub trait Listener: Send + 'static {
    /// One accepted connection.
    type Conn: Send + 'static;
    /// Accepts one connection and names its peer (`tcp:1.2.3.4:5`).
    fn accept_one(&mut self) -> impl Future<Output = io::Result<(Self::Conn, String)>> + Send;
}

impl Listener for tokio::net::TcpListener {
    type Conn = tokio::net::TcpStream;
    async fn accept_one(&mut self) -> io::Result<(Self::Conn, String)> {
        let (s, peer) = self.accept().await?;
        Ok((s, format!("tcp:{peer}")))
    }
}

/// How many connections a listener admits. One over the limit is closed
/// at once, noted in the connection log (a client that is refused
/// retries; one that waits would see nothing).
#[derive(Debug, Clone)]
pub struct Admission {
    /// One permit per client.
    pub permits: Arc<Semaphore>,
    /// How many there are (for the log line).
    pub max: usize,
}

impl Admission {
    /// Admits up to `max` connections at once.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

/// Accepts connections of `listener` until `token` is cancelled, handing
/// each admitted one with its permit to `on_conn`. `what` names the
/// listener in logs.
pub async fn accept_loop<L: Listener>(
    token: CancellationToken,
    what: &'static str,
    listener: L,
    admission: Admission,
    on_conn: impl FnMut(L::Conn, String, OwnedSemaphorePermit) + Send,
) {
    let log = Arc::new(ConnLog::new(what));
    accept_loop_logged(token, what, listener, admission, log, on_conn).await
}

/// [`accept_loop`] noting refusals in `log`, which the listener's
/// connection tasks share (and which this loop flushes every interval).
pub async fn accept_loop_logged<L: Listener>(
    token: CancellationToken,
    what: &'static str,
    mut listener: L,
    admission: Admission,
    log: Arc<ConnLog>,
    mut on_conn: impl FnMut(L::Conn, String, OwnedSemaphorePermit) + Send,
) {
    let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        // The summary timer runs only while refusals wait to be
        // summarised: a quiet listener costs no wake-up.
        let due = log.summary_due();
        let accepted = tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                log.flush(false);
                continue;
            }
            _ = log.counted(), if due.is_none() => continue,
            r = listener.accept_one() => r,
        };
        let (conn, peer) = match accepted {
            Ok(c) => {
                backoff.reset();
                c
            }
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(listener = what, error = %e, retry_in = ?delay, "accept failed");
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        let Admission { permits, max } = &admission;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(conn);
            log.note(
                "too_many_clients",
                &peer,
                &format_args!("refused: {max} connections open"),
            );
            continue;
        };
        on_conn(conn, peer, permit);
    }
    log.flush(true);
    tracing::debug!(listener = what, "listener closed");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sink::conn_log::SUMMARY_INTERVAL;

    /// A listener nobody connects to.
    struct Quiet;

    impl Listener for Quiet {
        type Conn = ();
        async fn accept_one(&mut self) -> io::Result<((), String)> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_counted_by_a_client_task_is_summarised_when_due() {
        let log = Arc::new(ConnLog::new("test"));
        let token = CancellationToken::new();
        let admission = Admission::new(1);
        let task = tokio::spawn(accept_loop_logged(
            token.clone(),
            "test",
            Quiet,
            admission,
            log.clone(),
            |_, _, _| {},
        ));
        // Connection tasks note closes: the first is logged at once, the
        // second counted for the summary.
        log.note("reset", "tcp:1", &"x");
        log.note("reset", "tcp:2", &"x");
        assert!(log.summary_due().is_some());
        tokio::time::sleep(SUMMARY_INTERVAL + Duration::from_millis(1)).await;
        assert_eq!(log.summary_due(), None, "the count was never summarised");
        token.cancel();
        task.await.unwrap();
    }
}
