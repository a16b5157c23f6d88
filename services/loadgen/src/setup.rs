//! Setting the stage through the public API: log the owner in, open rooms, connect sockets
//! from several source addresses with small buffers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Context;
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{tungstenite::protocol::WebSocketConfig, MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A room opened for the run.
#[derive(Debug, Clone)]
pub struct Room {
    /// Room id.
    pub id: String,
    /// Its visitor token.
    pub visitor_token: String,
}

/// Logs the owner in and returns the access token.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    phone: &str,
    password: &str,
) -> anyhow::Result<String> {
    let body: Value = http
        .post(format!("{base}/api/login/"))
        .json(&json!({"phone_number": phone, "password": password}))
        .send()
        .await?
        .error_for_status()
        .context("login")?
        .json()
        .await?;
    body["tokens"]["access"]
        .as_str()
        .map(str::to_owned)
        .context("no access token")
}

/// Opens `count` rooms with the owner, 32 requests at a time. `replica` pins the requests to
/// one gateway replica behind the test topology's ingress (`X-CarInfo-Replica`).
pub async fn open_rooms(
    http: &reqwest::Client,
    base: &str,
    owner_id: &str,
    count: usize,
    replica: Option<&str>,
) -> anyhow::Result<Vec<Room>> {
    stream::iter(0..count)
        .map(|i| async move {
            let mut request = http
                .post(format!("{base}/api/chat/start/"))
                .json(&json!({"user_id": owner_id, "visitor_name": format!("load {i}")}));
            if let Some(replica) = replica {
                request = request.header("X-CarInfo-Replica", replica);
            }
            let body: Value = request
                .send()
                .await?
                .error_for_status()
                .context("chat start (are RATE_LIMITS off?)")?
                .json()
                .await?;
            Ok::<_, anyhow::Error>(Room {
                id: body["room_id"].as_str().context("room_id")?.to_owned(),
                visitor_token: body["visitor_token"]
                    .as_str()
                    .context("visitor_token")?
                    .to_owned(),
            })
        })
        .buffer_unordered(32)
        .try_collect()
        .await
}

/// The `n`-th of `sources` loopback source addresses: 127.0.0.1, 127.0.0.2, ...
pub fn source_address(n: usize, sources: usize) -> IpAddr {
    let last = 1 + (n % sources.max(1)) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Connects a WebSocket to `ws_url` from `source`, with small buffers so tens of thousands of
/// client sockets fit in memory.
pub async fn connect(server: SocketAddr, source: IpAddr, ws_url: &str) -> anyhow::Result<Socket> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(server).await.context("tcp connect")?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024);
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        ws_url,
        MaybeTlsStream::Plain(stream),
        Some(config),
    )
    .await
    .context("websocket handshake")?;
    Ok(ws)
}

/// `http://host:port` → the socket address to connect to.
pub fn server_addr(base: &str) -> anyhow::Result<SocketAddr> {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let host = host.split('/').next().unwrap_or(host);
    host.parse().or_else(|_| {
        std::net::ToSocketAddrs::to_socket_addrs(host)
            .ok()
            .and_then(|mut a| a.next())
            .context("resolve server")
    })
}
