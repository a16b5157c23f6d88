//! `history-memory`: a visitor fills one room with long messages, then concurrent bare reads
//! of its history (no page size) ask the server to load, serialise and hold all of it at
//! once. The figures are the server's peak memory during the reads and what each read
//! returned; filling stops early, and says why, if the server says the chat is full.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use super::{describe, required, rss::RssSampler, AbuseArgs};
use crate::setup;

/// How long to wait for the last echoes after the last send.
const DRAIN: Duration = Duration::from_secs(10);

/// What the visitor's socket has received so far.
#[derive(Default)]
struct Received {
    echoed: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    full: AtomicBool,
    closed: AtomicBool,
}

impl Received {
    fn answered(&self) -> u64 {
        let errors: u64 = self.errors.lock().map_or(0, |e| e.values().sum());
        self.echoed.load(Ordering::Relaxed) + errors
    }
}

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let owner_id = required(args.owner_id.as_ref(), "--owner-id")?;
    let http = reqwest::Client::new();
    let room = setup::open_rooms(&http, &args.base, owner_id, 1, None)
        .await?
        .pop()
        .context("no room")?;
    let ws_url = format!(
        "{}/ws/chat/{}/?visitor={}",
        args.base.replacen("http", "ws", 1),
        room.id,
        room.visitor_token
    );
    let socket = setup::connect(
        setup::server_addr(&args.base)?,
        setup::source_address(0, 1),
        &ws_url,
    )
    .await?;
    let (mut sink, mut stream) = socket.split();
    let received = Arc::new(Received::default());
    let reader = tokio::spawn({
        let received = received.clone();
        async move {
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    note(&received, &text);
                }
            }
            received.closed.store(true, Ordering::Relaxed);
        }
    });

    let started = Instant::now();
    let filler = "x".repeat(args.history_chars);
    let mut ticker = (args.history_rate > 0.0).then(|| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / args.history_rate));
        // Catching up after a stall would overrun the server's per-socket rate.
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let mut sent = 0u64;
    let mut stopped_because = Value::Null;
    for i in 0..args.history_messages {
        if received.full.load(Ordering::Relaxed) {
            stopped_because = json!("the server said the chat is full");
            break;
        }
        if received.closed.load(Ordering::Relaxed) {
            stopped_because = json!("the server closed the socket");
            break;
        }
        if let Some(ticker) = &mut ticker {
            ticker.tick().await;
        }
        let head = format!("{i:06} ");
        let tail = filler.get(head.len()..).unwrap_or_default();
        let frame = json!({ "message": format!("{head}{tail}") }).to_string();
        if let Err(e) = sink.send(Message::text(frame)).await {
            stopped_because = json!(format!("send failed: {e}"));
            break;
        }
        sent += 1;
        if sent.is_multiple_of(500) {
            eprintln!("abuse: history-memory sent {sent}");
        }
    }
    let drain_until = Instant::now() + DRAIN;
    while received.answered() < sent && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fill_seconds = started.elapsed().as_secs_f64();
    // The socket is done with; closing it keeps its buffers out of the read figures.
    let _ = sink.close().await;
    reader.abort();

    let url = format!(
        "{}/api/chat/rooms/{}/messages/?visitor={}",
        args.base, room.id, room.visitor_token
    );
    let sampler = RssSampler::start(args.server_pid.as_deref());
    let reads =
        futures::future::join_all((0..args.history_reads).map(|_| read_history(&http, &url))).await;
    let server_memory = sampler.finish().await;
    let errors = received
        .errors
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    Ok(json!({
        "room_id": room.id,
        "messages_requested": args.history_messages,
        "message_chars": args.history_chars,
        "sent": sent,
        "echoed": received.echoed.load(Ordering::Relaxed),
        "error_frames": errors,
        "stopped_because": stopped_because,
        "fill_seconds": fill_seconds,
        "reads": reads,
        "server_memory_during_reads": server_memory,
    }))
}

/// Counts one text frame: an echo of a message (it has an `id`) or an `{"error": ..}`.
fn note(received: &Received, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Some(error) = frame.get("error").and_then(Value::as_str) {
        if error.to_lowercase().contains("full") {
            received.full.store(true, Ordering::Relaxed);
        }
        if let Ok(mut errors) = received.errors.lock() {
            *errors.entry(error.to_owned()).or_default() += 1;
        }
    } else if frame.get("id").is_some() {
        received.echoed.fetch_add(1, Ordering::Relaxed);
    }
}

/// One bare read of the whole history: status, bytes, messages and seconds.
async fn read_history(http: &reqwest::Client, url: &str) -> Value {
    let started = Instant::now();
    let response = match http.get(url).send().await {
        Ok(r) => r,
        Err(e) => return json!({ "error": describe(e) }),
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(body) => json!({
            "status": status,
            "bytes": body.len(),
            "messages": serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.as_array().map(Vec::len)),
            "seconds": started.elapsed().as_secs_f64(),
        }),
        Err(e) => json!({ "status": status, "error": describe(e) }),
    }
}
