//! The one accept loop of every listening sink (stream TCP and Unix
//! socket, metrics): stops on cancellation, retries failed accepts with
//! capped backoff, and admits connections through a semaphore whose
//! permit moves into the connection's task.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;

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

/// How connections over the limit are treated.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Closed at once, with a log line (stream clients: a client that is
    /// refused retries; one that waits would see nothing).
    Refuse {
        /// One permit per client.
        permits: Arc<Semaphore>,
        /// How many there are (for the log line).
        max: usize,
    },
    /// Not accepted until a permit is free (scrapes: short-lived).
    Wait(Arc<Semaphore>),
}

/// Accepts connections of `listener` until `token` is cancelled, handing
/// each admitted one with its permit to `on_conn`. `what` names the
/// listener in logs.
pub async fn accept_loop<L: Listener>(
    token: CancellationToken,
    what: &'static str,
    mut listener: L,
    admission: Admission,
    mut on_conn: impl FnMut(L::Conn, String, OwnedSemaphorePermit) + Send,
) {
    let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        let waited = match &admission {
            Admission::Wait(permits) => tokio::select! {
                _ = token.cancelled() => break,
                p = permits.clone().acquire_owned() => p.ok(),
            },
            Admission::Refuse { .. } => None,
        };
        let accepted = tokio::select! {
            _ = token.cancelled() => break,
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
        let permit = match (&admission, waited) {
            (_, Some(p)) => p,
            (Admission::Refuse { permits, max }, None) => match permits.clone().try_acquire_owned()
            {
                Ok(p) => p,
                Err(_) => {
                    tracing::warn!(listener = what, peer = %peer, max_clients = max, "client refused: too many clients");
                    drop(conn);
                    continue;
                }
            },
            // The semaphore is never closed.
            (Admission::Wait(_), None) => continue,
        };
        on_conn(conn, peer, permit);
    }
    tracing::debug!(listener = what, "listener closed");
}
