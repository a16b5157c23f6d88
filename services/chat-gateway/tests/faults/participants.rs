//! The people in a drill's rooms, as WebSocket clients. A visitor sends a numbered message at
//! a steady rate and records which were acknowledged: a message is acknowledged when its
//! broadcast echo comes back on the sender's own socket, which the gateway sends only after
//! the commit. When its socket ends, the visitor moves on to the next replica it was given.
//! An owner records every message that reaches its live socket.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{
    net::TcpStream,
    task::JoinHandle,
    time::{Instant, MissedTickBehavior},
};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{self, Message},
    MaybeTlsStream, WebSocketStream,
};
use tokio_util::sync::CancellationToken;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a visitor told to stop waits for the answers to what it already sent.
const SETTLE: Duration = Duration::from_secs(5);

/// How a socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The server sent a close frame with this code.
    Closed(Option<u16>),
    /// The connection ended without a close frame (the process died).
    Dropped,
    /// The client closed it at the end of the drill.
    Left,
}

/// What a visitor does.
pub struct VisitorPlan {
    /// The room.
    pub room_id: String,
    /// The visitor token.
    pub token: String,
    /// `ws://` bases: the visitor starts on the first and moves to the next when its socket
    /// ends (staying on the last).
    pub replicas: Vec<String>,
    /// Time between two messages.
    pub period: Duration,
    /// Whether to connect again after a socket ends.
    pub reconnect: bool,
}

/// A chat with each owner, started through `chat_base`, and each owner's socket on its room
/// opened on `owner_ws`.
pub async fn open_rooms(
    owners: &[crate::deployment::Owner],
    chat_base: &str,
    owner_ws: &str,
) -> (Vec<crate::api::Chat>, Vec<OwnerSocket>) {
    let mut chats = Vec::with_capacity(owners.len());
    let mut sockets = Vec::with_capacity(owners.len());
    for owner in owners {
        let chat = crate::api::start_chat(chat_base, owner.id).await;
        sockets.push(OwnerSocket::open(owner_ws, &chat.room_id, &owner.token).await);
        chats.push(chat);
    }
    (chats, sockets)
}

/// One visitor per chat, each following `replicas` as [`VisitorPlan`] says, until `stop`.
pub fn spawn_visitors(
    chats: &[crate::api::Chat],
    replicas: &[String],
    period: Duration,
    reconnect: bool,
    stop: &CancellationToken,
) -> Vec<JoinHandle<VisitorLog>> {
    chats
        .iter()
        .map(|chat| {
            let plan = VisitorPlan {
                room_id: chat.room_id.clone(),
                token: chat.visitor_token.clone(),
                replicas: replicas.to_vec(),
                period,
                reconnect,
            };
            spawn_visitor(plan, stop.clone())
        })
        .collect()
}

/// One acknowledged message.
pub struct Ack {
    /// The message id.
    pub id: String,
    /// When the echo arrived.
    pub at: Instant,
}

/// What a visitor did and saw.
#[derive(Default)]
pub struct VisitorLog {
    /// The room.
    pub room_id: String,
    /// Messages sent.
    pub sent: usize,
    /// Messages acknowledged, in order.
    pub acked: Vec<Ack>,
    /// Error frames received, with when they arrived.
    pub errors: Vec<(Instant, String)>,
    /// How each socket ended, and when.
    pub endings: Vec<(Instant, Ending)>,
    /// Messages neither acknowledged nor refused when their socket ended: their fate is
    /// unknown to the client, which would send them again.
    pub unanswered: usize,
}

impl VisitorLog {
    /// The acknowledged ids.
    pub fn acked_ids(&self) -> HashSet<String> {
        self.acked.iter().map(|a| a.id.clone()).collect()
    }

    /// The first acknowledgement after `moment`.
    pub fn first_ack_after(&self, moment: Instant) -> Option<Instant> {
        self.acked.iter().map(|a| a.at).find(|at| *at > moment)
    }
}

/// Runs a visitor until `stop`, then lets it collect the answers to what it sent.
pub fn spawn_visitor(plan: VisitorPlan, stop: CancellationToken) -> JoinHandle<VisitorLog> {
    tokio::spawn(run_visitor(plan, stop))
}

async fn run_visitor(plan: VisitorPlan, stop: CancellationToken) -> VisitorLog {
    let mut log = VisitorLog {
        room_id: plan.room_id.clone(),
        ..VisitorLog::default()
    };
    let mut texts = HashSet::new();
    let mut replica = 0;
    while !stop.is_cancelled() {
        let url = format!(
            "{}/ws/chat/{}/?visitor={}",
            plan.replicas[replica], plan.room_id, plan.token
        );
        let Some(socket) = connect(&url).await else {
            // A dead replica refuses at once; try the next one.
            replica = (replica + 1).min(plan.replicas.len() - 1);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let ending = chat(socket, &plan, &stop, &mut texts, &mut log).await;
        log.endings.push((Instant::now(), ending));
        if ending == Ending::Left || !plan.reconnect {
            break;
        }
        replica = (replica + 1).min(plan.replicas.len() - 1);
    }
    log
}

/// Sends and reads on one socket until it ends or the visitor leaves.
async fn chat(
    mut socket: Socket,
    plan: &VisitorPlan,
    stop: &CancellationToken,
    texts: &mut HashSet<String>,
    log: &mut VisitorLog,
) -> Ending {
    let mut tick = tokio::time::interval(plan.period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pending = 0usize;
    let mut can_send = true;
    let mut settle_until: Option<Instant> = None;
    let settled = |until: Option<Instant>| async move {
        match until {
            Some(until) => tokio::time::sleep_until(until).await,
            None => std::future::pending().await,
        }
    };
    let ending = loop {
        if settle_until.is_some() && pending == 0 {
            break Ending::Left;
        }
        tokio::select! {
            _ = tick.tick(), if can_send && settle_until.is_none() => {
                let text = format!("{}#{}", &plan.room_id[..8], log.sent);
                let frame = Message::text(json!({ "message": text }).to_string());
                if socket.send(frame).await.is_err() {
                    // The server's last frames (echoes, a close) may still wait to be read.
                    can_send = false;
                    continue;
                }
                texts.insert(text);
                log.sent += 1;
                pending += 1;
            }
            () = stop.cancelled(), if settle_until.is_none() => {
                settle_until = Some(Instant::now() + SETTLE);
            }
            () = settled(settle_until) => break Ending::Left,
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                    if let Some(error) = frame["error"].as_str() {
                        log.errors.push((Instant::now(), error.to_owned()));
                        pending = pending.saturating_sub(1);
                    } else if let (Some(id), Some(message)) = (frame["id"].as_str(), frame["message"].as_str()) {
                        if frame["sender_type"] == "visitor" && texts.remove(message) {
                            log.acked.push(Ack { id: id.to_owned(), at: Instant::now() });
                            pending = pending.saturating_sub(1);
                        }
                    }
                }
                Some(Ok(Message::Close(close))) => break Ending::Closed(close.map(|c| u16::from(c.code))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break Ending::Dropped,
            },
        }
    };
    if ending != Ending::Dropped {
        // Leaving, or answering the server's close frame: the closing handshake.
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
    }
    log.unanswered += pending;
    ending
}

async fn connect(url: &str) -> Option<Socket> {
    match tokio::time::timeout(Duration::from_secs(5), connect_async(url)).await {
        Ok(Ok((socket, _))) => Some(socket),
        // A 503 is an outage: the client tries again. Any other refusal is a bug.
        Ok(Err(tungstenite::Error::Http(response))) if response.status() != 503 => {
            panic!("handshake refused with {}", response.status())
        }
        _ => None,
    }
}

/// An owner's live socket, read in a task that records every message id it receives.
pub struct OwnerSocket {
    received: Arc<Mutex<HashSet<String>>>,
    reader: JoinHandle<Ending>,
}

impl OwnerSocket {
    /// Opens the room's socket on the replica at `ws_base` with the owner's token.
    pub async fn open(ws_base: &str, room_id: &str, token: &str) -> Self {
        let url = format!("{ws_base}/ws/chat/{room_id}/?token={token}");
        let Some(mut socket) = connect(&url).await else {
            panic!("the owner's socket opens");
        };
        let received = Arc::new(Mutex::new(HashSet::new()));
        let into = received.clone();
        let reader = tokio::spawn(async move {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let frame: Value = serde_json::from_str(&text).unwrap_or_default();
                        if let Some(id) = frame["id"].as_str() {
                            lock(&into).insert(id.to_owned());
                        }
                    }
                    Some(Ok(Message::Close(close))) => {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
                        return Ending::Closed(close.map(|c| u16::from(c.code)));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Ending::Dropped,
                }
            }
        });
        Self { received, reader }
    }

    /// Whether every id in `ids` has arrived, waiting up to `within`; the ids still missing.
    pub async fn missing_after(&self, ids: &HashSet<String>, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let missing: Vec<String> = {
                let received = lock(&self.received);
                ids.difference(&received).cloned().collect()
            };
            if missing.is_empty() || Instant::now() >= deadline {
                return missing;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How the socket ended, waiting up to `within` (`None`: still open).
    pub async fn ending(self, within: Duration) -> Option<Ending> {
        tokio::time::timeout(within, self.reader)
            .await
            .ok()
            .map(|joined| joined.unwrap_or(Ending::Dropped))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
