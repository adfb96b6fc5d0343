//! A deliberately small HTTP/1.1 server for scrapes: `GET /metrics` gets the
//! encoded registry, anything else a 404 or 405; one request per connection.
//!
//! A scraper always gets through: request heads are bounded (8 KiB) and
//! must arrive within [`READ_TIMEOUT`] (2 s); at most [`MAX_CONNECTIONS`]
//! connections are open at once, and when the last one is taken the oldest
//! other connection still waiting for its request head is closed, so idle or
//! slow connections can only ever push each other out, never a scrape
//! whose request arrives promptly. Closed connections are logged through
//! the listener's [`ConnLog`] (rate-limited).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;

use tokio_util::sync::CancellationToken;

use crate::sink::accept::{accept_loop_logged, Admission};
use crate::sink::conn_log::ConnLog;
use crate::sink::contract::ClientSide;

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Longest a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections open at once (waiting for their request or being served).
pub const MAX_CONNECTIONS: usize = 16;
/// Content type of the OpenMetrics text `prometheus-client` encodes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Connections still waiting for their request head, oldest first, each
/// with the token that closes it and its connection slot: closing the
/// oldest frees its slot at once, for the connection that just came.
#[derive(Default)]
struct Waiting {
    next: u64,
    queue: VecDeque<(u64, CancellationToken, OwnedSemaphorePermit)>,
}

impl Waiting {
    fn push(&mut self, token: CancellationToken, permit: OwnedSemaphorePermit) -> u64 {
        self.next = self.next.wrapping_add(1);
        self.queue.push_back((self.next, token, permit));
        self.next
    }

    /// Queues a connection that just took `permit`, leaving `slots_left`
    /// free, and returns its id. When it took the last slot, the oldest
    /// connection waiting before it is closed to free one for the next;
    /// the new one never is (with every other slot serving a scrape,
    /// nobody is closed and the next connection is refused).
    fn admit(
        &mut self,
        token: CancellationToken,
        permit: OwnedSemaphorePermit,
        slots_left: usize,
    ) -> u64 {
        if slots_left == 0 {
            if let Some((_, t, slot)) = self.queue.pop_front() {
                t.cancel();
                drop(slot);
            }
        }
        self.push(token, permit)
    }

    /// Takes connection `id` out (its request head is in, or it ended),
    /// handing back its slot.
    fn take(&mut self, id: u64) -> Option<OwnedSemaphorePermit> {
        let i = self.queue.iter().position(|(i, _, _)| *i == id)?;
        self.queue.remove(i).map(|(_, _, p)| p)
    }
}

/// Serves scrapes of `registry` on `listener` until `token` is cancelled,
/// each on its own task (`metrics scrape <peer>`), at most
/// [`MAX_CONNECTIONS`] at once (the oldest idle one is closed for a new one).
pub(crate) async fn serve_scrapes(
    token: CancellationToken,
    listener: TcpListener,
    registry: Registry,
    scrapes: ClientSide,
) {
    let registry = Arc::new(registry);
    let admission = Admission::new(MAX_CONNECTIONS);
    let permits = admission.permits.clone();
    let waiting: Arc<Mutex<Waiting>> = Arc::default();
    let log = Arc::new(ConnLog::new("metrics http"));
    let stop = token.clone();
    let conn_log = log.clone();
    accept_loop_logged(
        token,
        "metrics http",
        listener,
        admission,
        log,
        move |conn, peer, permit| {
            let registry = registry.clone();
            let log = conn_log.clone();
            let mine = stop.child_token();
            let stopping = stop.clone();
            let waiting = waiting.clone();
            let Ok(mut w) = waiting.lock() else {
                return;
            };
            let id = w.admit(mine.clone(), permit, permits.available_permits());
            drop(w);
            scrapes.spawn(format!("metrics scrape {peer}"), async move {
                // The slot moves here once the request head is in.
                let slot = Mutex::new(None);
                let head_read = || {
                    if let (Ok(mut w), Ok(mut s)) = (waiting.lock(), slot.lock()) {
                        *s = w.take(id);
                    }
                };
                tokio::select! {
                    _ = mine.cancelled() => if !stopping.is_cancelled() {
                        log.note("idle_evicted", &peer, &format_args!(
                            "closed before its request: {MAX_CONNECTIONS} connections open"
                        ));
                    },
                    r = serve_notify(conn, &registry, head_read) => if let Err(e) = r {
                        log.note(cause(&e), &peer, &e);
                    },
                }
                if let Ok(mut w) = waiting.lock() {
                    w.take(id);
                }
                drop(slot);
            });
        },
    )
    .await;
}

/// The log cause of a failed request.
fn cause(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::TimedOut => "request_timeout",
        io::ErrorKind::InvalidData => "bad_request",
        _ => "reset",
    }
}

/// Reads one request head and answers it.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    conn: S,
    registry: &Registry,
) -> io::Result<()> {
    serve_notify(conn, registry, || {}).await
}

/// [`serve`], calling `head_read` once the request head is in.
async fn serve_notify<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: S,
    registry: &Registry,
    head_read: impl FnOnce(),
) -> io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut conn)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("request head not received within {READ_TIMEOUT:?}"),
            ))
        }
    };
    head_read();
    let (status, ctype, body) = respond(&head, registry);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes()).await?;
    conn.shutdown().await
}

/// The status line, content type and body for a request head.
fn respond(head: &str, registry: &Registry) -> (&'static str, &'static str, String) {
    let text = "text/plain; charset=utf-8";
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, registry) {
                Ok(()) => ("200 OK", CONTENT_TYPE, body),
                Err(_) => (
                    "500 Internal Server Error",
                    text,
                    "encoding failed\n".into(),
                ),
            }
        }
        (_, "/metrics") => ("405 Method Not Allowed", text, "only GET\n".into()),
        _ => ("404 Not Found", text, "try /metrics\n".into()),
    }
}

/// Reads until the blank line that ends a request head.
async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-request",
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::sync::Semaphore;

    async fn ask(request: &[u8]) -> String {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let registry = Registry::default();
        let task = tokio::spawn(async move { serve(server, &registry).await });
        client.write_all(request).await.unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        out
    }

    #[tokio::test]
    async fn routes_and_methods() {
        let ok = ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("# EOF\n"), "{ok}");
        let nf = ask(b"GET / HTTP/1.1\r\n\r\n").await;
        assert!(nf.starts_with("HTTP/1.1 404 "), "{nf}");
        let na = ask(b"POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(na.starts_with("HTTP/1.1 405 "), "{na}");
    }

    #[test]
    fn the_last_slot_closes_an_older_idle_connection_never_the_new_one() {
        let permits = Arc::new(Semaphore::new(2));
        let mut w = Waiting::default();
        let admit = |w: &mut Waiting, token: &CancellationToken| {
            let permit = permits.clone().try_acquire_owned().unwrap();
            w.admit(token.clone(), permit, permits.available_permits())
        };
        // One connection's request is in: it is being served.
        let served = CancellationToken::new();
        let id = admit(&mut w, &served);
        let serving = w.take(id).unwrap();
        // The next takes the last slot with nobody else idle: it stays.
        let new = CancellationToken::new();
        admit(&mut w, &new);
        assert!(!new.is_cancelled(), "the new connection closed itself");
        assert!(!served.is_cancelled());
        // Once the served one is done, a newer one takes the last slot
        // again: now the idle one before it is closed, its slot freed.
        drop(serving);
        let newer = CancellationToken::new();
        admit(&mut w, &newer);
        assert!(new.is_cancelled(), "the oldest idle connection stayed");
        assert!(!newer.is_cancelled(), "the new connection closed itself");
        assert_eq!(permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn an_endless_head_is_refused() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let registry = Registry::default();
        let task = tokio::spawn(async move { serve(server, &registry).await });
        let junk = vec![b'a'; MAX_HEAD + 2048];
        client.write_all(&junk).await.unwrap();
        let e = task.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
