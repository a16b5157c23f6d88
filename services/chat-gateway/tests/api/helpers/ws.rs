//! A WebSocket client for the gateway's sockets: send frames, read them with deadlines, read
//! until the server ends the socket, or split it into a sender and a collecting reader.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{net::TcpStream, task::JoinHandle};
use tokio_tungstenite::{
    client_async,
    tungstenite::{self, client::IntoClientRequest, protocol::CloseFrame, Message},
    WebSocketStream,
};

use super::{PATIENCE, QUIET};

/// A WebSocket client.
pub struct WsClient {
    socket: WebSocketStream<TcpStream>,
}

/// What a socket read ended with.
#[derive(Debug)]
pub enum Ending {
    /// A close frame (code, reason).
    Closed(Option<(u16, String)>),
    /// The connection ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects to `url`; `receive_buffer` shrinks the TCP receive window (slow readers).
    /// `Err(status)` when the handshake was refused.
    pub async fn connect(url: &str, receive_buffer: Option<u32>) -> Result<Self, u16> {
        Self::connect_offering(url, receive_buffer, None).await
    }

    /// Connects to `url` offering the `carinfo.v2` subprotocol, and checks the server chose it.
    pub async fn connect_v2(url: &str) -> Result<Self, u16> {
        Self::connect_offering(url, None, Some("carinfo.v2")).await
    }

    async fn connect_offering(
        url: &str,
        receive_buffer: Option<u32>,
        protocol: Option<&str>,
    ) -> Result<Self, u16> {
        let authority = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("an authority");
        let addr: SocketAddr = authority.parse().expect("host:port");
        let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = receive_buffer {
            tcp.set_recv_buffer_size(size).expect("receive buffer set");
        }
        let stream = tcp.connect(addr).await.expect("TCP connects");
        let mut request = url.into_client_request().expect("a socket URL");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                protocol.parse().expect("a header value"),
            );
        }
        match client_async(request, stream).await {
            Ok((socket, response)) => {
                let chosen = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok());
                assert_eq!(chosen, protocol, "the subprotocol the server chose");
                Ok(Self { socket })
            }
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("handshake failed: {e}"),
        }
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("frame sent");
    }

    /// Sends `{"message": text}`.
    pub async fn send_message(&mut self, text: &str) {
        self.send_text(&json!({ "message": text }).to_string())
            .await;
    }

    /// Sends `value` as a text frame.
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket
            .send(Message::binary(bytes))
            .await
            .expect("frame sent");
    }

    /// The next frame that is not a ping or pong, or `None` after `within`.
    pub async fn next_frame(
        &mut self,
        within: Duration,
    ) -> Option<Result<Message, tungstenite::Error>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(other) => return Some(other),
                None => return Some(Err(tungstenite::Error::ConnectionClosed)),
            }
        }
    }

    /// The next text frame as JSON; fails the test on anything else or after [`PATIENCE`].
    pub async fn next_json(&mut self) -> Value {
        match self.next_frame(PATIENCE).await {
            Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("a JSON frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Fails the test when a text frame arrives within [`QUIET`].
    pub async fn expect_silence(&mut self) {
        if let Some(frame) = self.next_frame(QUIET).await {
            panic!("expected no frame, got {frame:?}");
        }
    }

    /// Reads until the connection ends; returns the text frames seen and how it ended.
    pub async fn read_to_end(&mut self, within: Duration) -> (Vec<Value>, Ending) {
        let mut frames = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(&text).expect("a JSON frame"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return (
                        frames,
                        Ending::Closed(frame.map(|CloseFrame { code, reason }| {
                            (u16::from(code), reason.to_string())
                        })),
                    );
                }
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(_)) => return (frames, Ending::Dropped),
                None => panic!("the socket is still open after {within:?}"),
            }
        }
    }

    /// Closes from the client side and waits for the server's answer.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        let _ = tokio::time::timeout(PATIENCE, async {
            while self.socket.next().await.is_some() {}
        })
        .await;
    }

    /// Splits into a sending half and a task that collects every text frame received.
    pub fn split_collecting(self) -> (WsSender, Collector) {
        let (sink, mut stream) = self.socket.split();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let handle = tokio::spawn(async move {
            let mut frames = Vec::new();
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    frames.push(serde_json::from_str(&text).expect("a JSON frame"));
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
            frames
        });
        (WsSender { sink }, Collector { count, handle })
    }
}

/// The receiving half of a split socket, collecting text frames in a task.
pub struct Collector {
    count: Arc<AtomicUsize>,
    handle: JoinHandle<Vec<Value>>,
}

impl Collector {
    /// Text frames received so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Every text frame, once the socket has ended.
    pub async fn frames(self) -> Vec<Value> {
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("the socket ends")
            .expect("the collector joins")
    }
}

/// The sending half of a split socket.
pub struct WsSender {
    sink: futures::stream::SplitSink<WebSocketStream<TcpStream>, Message>,
}

impl WsSender {
    /// Sends `{"message": text}`.
    pub async fn send_message(&mut self, text: &str) {
        self.sink
            .send(Message::text(json!({ "message": text }).to_string()))
            .await
            .expect("frame sent");
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.sink.close().await;
    }
}
