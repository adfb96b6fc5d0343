//! A deliberately small HTTP/1.1 server for scrapes: `GET /metrics` gets the
//! encoded registry, anything else a 404 or 405; one request per connection.
//! Request heads are bounded (8 KiB) and must arrive within 5 s; at most 8
//! scrapes run at once (more wait for a permit).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use tokio_util::sync::CancellationToken;

use crate::sink::accept::{accept_loop, Admission};
use crate::sink::contract::ClientSide;

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Longest a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapes served at once.
const MAX_SCRAPES: usize = 8;
/// Content type of the OpenMetrics text `prometheus-client` encodes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves scrapes of `registry` on `listener` until `token` is cancelled,
/// each on its own task (`metrics scrape <peer>`), at most
/// [`MAX_SCRAPES`] at once (more wait to be accepted).
pub(crate) async fn serve_scrapes(
    token: CancellationToken,
    listener: TcpListener,
    registry: Registry,
    scrapes: ClientSide,
) {
    let registry = Arc::new(registry);
    let admission = Admission::Wait(Arc::new(Semaphore::new(MAX_SCRAPES)));
    let stop = token.clone();
    accept_loop(
        token,
        "metrics http",
        listener,
        admission,
        move |conn, peer, permit| {
            let registry = registry.clone();
            let token = stop.clone();
            scrapes.spawn(format!("metrics scrape {peer}"), async move {
                let _permit = permit;
                tokio::select! {
                    _ = token.cancelled() => {}
                    r = serve(conn, &registry) => if let Err(e) = r {
                        tracing::debug!(peer = %peer, error = %e, "metrics request failed");
                    },
                }
            });
        },
    )
    .await;
}

/// Reads one request head and answers it.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: S,
    registry: &Registry,
) -> io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut conn)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head timed out",
            ))
        }
    };
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
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
