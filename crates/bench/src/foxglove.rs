//! A Foxglove WebSocket client for the benchmarks: subscribes to every
//! channel the daemon advertises (frames and well-known schemas) and counts
//! the message-data frames it receives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// A connected client reading on its own task.
#[derive(Debug)]
pub struct FoxgloveClient {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    messages: Arc<AtomicU64>,
}

impl FoxgloveClient {
    /// Connects to the server on loopback `port` (retrying while the
    /// daemon starts) and starts reading.
    pub async fn connect(port: u16) -> anyhow::Result<FoxgloveClient> {
        let until = Instant::now() + Duration::from_secs(15);
        let tcp = loop {
            match TcpStream::connect(("127.0.0.1", port)).await {
                Ok(t) => break t,
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e).context("connecting to the foxglove server"),
            }
        };
        let mut req = format!("ws://127.0.0.1:{port}").into_client_request()?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "foxglove.websocket.v1".parse()?);
        let (mut ws, _) = tokio_tungstenite::client_async(req, tcp).await?;
        let stop = CancellationToken::new();
        let messages = Arc::new(AtomicU64::new(0));
        let task = {
            let (stop, messages) = (stop.clone(), messages.clone());
            tokio::spawn(async move {
                let mut next_sub = 0u32;
                loop {
                    let m = tokio::select! {
                        _ = stop.cancelled() => return Ok(()),
                        m = ws.next() => m,
                    };
                    match m.context("connection closed")?? {
                        Message::Binary(_) => {
                            messages.fetch_add(1, Ordering::Relaxed);
                        }
                        Message::Text(t) => {
                            let v: serde_json::Value = serde_json::from_str(t.as_str())?;
                            if v["op"] != "advertise" {
                                continue;
                            }
                            let subs: Vec<serde_json::Value> = v["channels"]
                                .as_array()
                                .context("advertise without channels")?
                                .iter()
                                .map(|c| {
                                    next_sub += 1;
                                    serde_json::json!({"id": next_sub, "channelId": c["id"]})
                                })
                                .collect();
                            let msg = serde_json::json!({"op": "subscribe", "subscriptions": subs});
                            ws.send(Message::text(msg.to_string())).await?;
                        }
                        _ => {}
                    }
                }
            })
        };
        Ok(FoxgloveClient {
            stop,
            task,
            messages,
        })
    }

    /// Stops reading; the messages received.
    pub async fn finish(self) -> anyhow::Result<u64> {
        self.stop.cancel();
        self.task.await??;
        Ok(self.messages.load(Ordering::Relaxed))
    }
}
