//! One Foxglove WebSocket client: the handshake (subprotocol negotiated,
//! bounded time and message sizes), `serverInfo` and the channels known so
//! far, then its frames as they come: new channels advertised first, the
//! subscribed ones sent as message data, its `subscribe` / `unsubscribe`
//! requests read in between.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::channels::Channels;
use super::protocol::{
    message_data, negotiate, parse_client, ChannelInfo, ClientMessage, ServerMessage,
};
use crate::bus::{Published, Received};
use crate::selection::Kind;
use crate::sink::foxglove_schema::{nanos, Converter};
use crate::sink::frames::SinkFrames;
use crate::sink::payload::frame_bytes;
use crate::sink::record::SCHEMA_NAME;
use crate::sink::stats::SinkStats;

/// Longest the WebSocket handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Most subscriptions one client may hold.
pub const MAX_SUBSCRIPTIONS: usize = 4096;
/// Bytes of outgoing messages buffered beyond what the socket takes before
/// a send fails (the bus queue is where a slow client's frames wait).
const MAX_WRITE_BUFFER: usize = 4 << 20;
/// Kernel send buffer of a client socket, bytes (Linux doubles it): a
/// stalled client holds at most this much in the kernel, about ten seconds
/// of everything the simulator publishes, instead of the megabytes
/// autotuning would grow to; past it sends block and `write_timeout`
/// decides.
pub const SOCKET_SEND_BUFFER: usize = 128 * 1024;
/// Longest a closing handshake, or a send blocked when shutdown begins,
/// may take at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What every client of one server shares.
#[derive(Debug, Clone)]
pub struct Server {
    /// The server's channels.
    pub channels: Arc<Channels>,
    /// `serverInfo.sessionId`.
    pub session_id: Arc<str>,
    /// Frames a client may lose before it is disconnected (0: never).
    pub max_drops: u64,
    /// Longest a send may block.
    pub write_timeout: Duration,
    /// Largest message a client may send.
    pub max_client_message: usize,
    /// Cancelled at daemon shutdown: a blocked send then gets at most
    /// `CLOSE_TIMEOUT` more, so shutdown stays within its grace.
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// Why a client's connection ended.
#[derive(Debug)]
pub enum ClientEnd {
    /// The bus closed (shutdown); the connection was closed cleanly.
    Drained,
    /// The client lost more frames than allowed.
    TooSlow,
    /// A send blocked longer than the write timeout.
    WriteTimeout,
    /// The handshake failed or took too long.
    Handshake(String),
    /// The client closed, went away, or broke the protocol.
    Gone(String),
}

/// One client's connection state.
struct Conn {
    ws: WebSocketStream<TcpStream>,
    server: Server,
    frames: SinkFrames,
    converter: Converter,
    /// Channels this client was told about.
    advertised: HashSet<u32>,
    /// Subscription id → channel id.
    subscriptions: HashMap<u32, u32>,
    /// Message-data frames sent.
    sent: u64,
}

/// Serves one accepted connection until the bus closes or the client
/// fails; returns why it ended, the message-data frames it was sent and
/// the subprotocol it negotiated.
pub async fn serve(
    tcp: TcpStream,
    frames: SinkFrames,
    server: Server,
) -> (ClientEnd, u64, Option<&'static str>) {
    let _ = tcp.set_nodelay(true);
    let _ =
        nix::sys::socket::setsockopt(&tcp, nix::sys::socket::sockopt::SndBuf, &SOCKET_SEND_BUFFER);
    let chosen = Arc::new(OnceLock::new());
    // The signature tungstenite's `Callback` takes (its error is large).
    #[allow(clippy::result_large_err)]
    let callback = {
        let chosen = chosen.clone();
        move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let offered = req
                .headers()
                .get_all("sec-websocket-protocol")
                .iter()
                .filter_map(|v| v.to_str().ok());
            match negotiate(offered) {
                Some(p) => {
                    let _ = chosen.set(p);
                    resp.headers_mut()
                        .insert("sec-websocket-protocol", HeaderValue::from_static(p));
                    Ok(resp)
                }
                None => {
                    let mut e = ErrorResponse::new(Some(
                        "offer subprotocol foxglove.websocket.v1 or foxglove.sdk.v1".into(),
                    ));
                    *e.status_mut() = StatusCode::BAD_REQUEST;
                    Err(e)
                }
            }
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(server.max_client_message))
        .max_frame_size(Some(server.max_client_message))
        .max_write_buffer_size(MAX_WRITE_BUFFER);
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(config));
    let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Err(_) => return (ClientEnd::Handshake("timed out".into()), 0, None),
        Ok(Err(e)) => return (ClientEnd::Handshake(e.to_string()), 0, None),
        Ok(Ok(ws)) => ws,
    };
    let mut conn = Conn {
        ws,
        server,
        frames,
        converter: Converter::default(),
        advertised: HashSet::new(),
        subscriptions: HashMap::new(),
        sent: 0,
    };
    let end = conn.run().await;
    (end, conn.sent, chosen.get().copied())
}

impl Conn {
    async fn run(&mut self) -> ClientEnd {
        let info = ServerMessage::ServerInfo {
            name: concat!("dronetel ", env!("CARGO_PKG_VERSION")),
            capabilities: [],
            supported_encodings: [],
            metadata: Default::default(),
            session_id: &self.server.session_id.clone(),
        }
        .to_json();
        let mut out = vec![Message::text(info)];
        let known = self.server.channels.all();
        if let Some(adv) = self.advertise(known.iter()) {
            out.push(adv);
        }
        if let Err(e) = self.send(out).await {
            return e;
        }
        loop {
            tokio::select! {
                biased;
                m = self.ws.next() => {
                    if let Err(e) = self.on_client(m).await {
                        return e;
                    }
                }
                r = self.frames.recv() => match r {
                    Received::Closed => {
                        let close = self.ws.close(None);
                        let _ = tokio::time::timeout(CLOSE_TIMEOUT, close).await;
                        return ClientEnd::Drained;
                    }
                    Received::Frame(p) => {
                        let max = self.server.max_drops;
                        if max > 0 && self.frames.dropped() > max {
                            return ClientEnd::TooSlow;
                        }
                        let out = self.on_frame(&p);
                        if let Err(e) = self.send(out).await {
                            return e;
                        }
                    }
                },
            }
        }
    }

    /// Sends `out` in one flush, within the write timeout.
    async fn send(&mut self, out: Vec<Message>) -> Result<(), ClientEnd> {
        if out.is_empty() {
            return Ok(());
        }
        let ws = &mut self.ws;
        let write = async {
            for m in out {
                ws.feed(m).await?;
            }
            ws.flush().await
        };
        let write = tokio::time::timeout(self.server.write_timeout, write);
        tokio::pin!(write);
        let done = tokio::select! {
            biased;
            r = &mut write => r,
            _ = self.server.shutdown.cancelled() => {
                match tokio::time::timeout(CLOSE_TIMEOUT, &mut write).await {
                    Ok(r) => r,
                    Err(_) => return Err(ClientEnd::WriteTimeout),
                }
            }
        };
        match done {
            Err(_) => Err(ClientEnd::WriteTimeout),
            Ok(Err(e)) => Err(ClientEnd::Gone(e.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// An `advertise` of the channels among `channels` this client was not
    /// told about yet.
    fn advertise<'a>(
        &mut self,
        channels: impl Iterator<Item = &'a Arc<ChannelInfo>>,
    ) -> Option<Message> {
        let new: Vec<&ChannelInfo> = channels
            .filter(|c| self.advertised.insert(c.id))
            .map(|c| c.as_ref())
            .collect();
        (!new.is_empty())
            .then(|| Message::text(ServerMessage::Advertise { channels: new }.to_json()))
    }

    /// What `p` makes for this client: advertisements of its new channels,
    /// then message data for each subscription of them.
    fn on_frame(&mut self, p: &Published) -> Vec<Message> {
        let frame = p.frame();
        let time = nanos(frame.received_at.as_ref()).unwrap_or(0);
        let mut msgs: Vec<(Arc<ChannelInfo>, bytes::Bytes)> = Vec::with_capacity(2);
        if let Some(kind) = Kind::of(frame) {
            let topic = format!("{}/{kind}", frame.sensor);
            if let Some(c) = self.server.channels.get_or_add(
                &topic,
                SCHEMA_NAME,
                dronetel_proto::FILE_DESCRIPTOR_SET,
            ) {
                msgs.push((c, frame_bytes(p)));
            }
        }
        if let Some(w) = self.converter.convert(frame) {
            let schema = w.schema;
            if let Some(c) = self.server.channels.get_or_add(
                &w.topic,
                schema.schema_name(),
                schema.descriptor_set(),
            ) {
                msgs.push((c, w.data.into()));
            }
        }
        let mut out = Vec::new();
        if let Some(adv) = self.advertise(msgs.iter().map(|(c, _)| c)) {
            out.push(adv);
        }
        for (c, data) in &msgs {
            for (sub, _) in self.subscriptions.iter().filter(|(_, ch)| **ch == c.id) {
                let b = message_data(*sub, time, data);
                let stats = self.frames.stats();
                SinkStats::add(&stats.sent, 1);
                SinkStats::add(&stats.bytes, b.len() as u64);
                self.sent += 1;
                out.push(Message::binary(b));
            }
        }
        out
    }

    /// Acts on what the client sent.
    async fn on_client(&mut self, m: Option<Result<Message, WsError>>) -> Result<(), ClientEnd> {
        let text = match m {
            None => return Err(ClientEnd::Gone("connection closed".into())),
            Some(Err(e)) => return Err(ClientEnd::Gone(e.to_string())),
            Some(Ok(Message::Close(_))) => return Err(ClientEnd::Gone("client closed".into())),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                return self
                    .status(
                        1,
                        "client publishing is not supported: binary message ignored",
                    )
                    .await
            }
            // Pings are answered by the next flush.
            Some(Ok(_)) => return self.flush().await,
        };
        match parse_client(text.as_str()) {
            Ok(ClientMessage::Subscribe { subscriptions }) => {
                let mut refused = Vec::new();
                for s in subscriptions {
                    if !self.advertised.contains(&s.channel_id) {
                        refused.push(format!("unknown channel {}", s.channel_id));
                    } else if self.subscriptions.contains_key(&s.id) {
                        refused.push(format!("subscription id {} in use", s.id));
                    } else if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
                        refused.push(format!("more than {MAX_SUBSCRIPTIONS} subscriptions"));
                    } else {
                        self.subscriptions.insert(s.id, s.channel_id);
                    }
                }
                if refused.is_empty() {
                    Ok(())
                } else {
                    // A bounded reply, however long the request.
                    let n = refused.len();
                    refused.truncate(8);
                    let msg = format!("subscribe: {n} refused: {}", refused.join(", "));
                    self.status(1, &msg).await
                }
            }
            Ok(ClientMessage::Unsubscribe { subscription_ids }) => {
                for id in subscription_ids {
                    self.subscriptions.remove(&id);
                }
                Ok(())
            }
            Err(e) => self.status(1, &e.to_string()).await,
        }
    }

    async fn flush(&mut self) -> Result<(), ClientEnd> {
        match tokio::time::timeout(self.server.write_timeout, self.ws.flush()).await {
            Err(_) => Err(ClientEnd::WriteTimeout),
            Ok(Err(e)) => Err(ClientEnd::Gone(e.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn status(&mut self, level: u8, message: &str) -> Result<(), ClientEnd> {
        let m = ServerMessage::Status { level, message }.to_json();
        self.send(vec![Message::text(m)]).await
    }
}
