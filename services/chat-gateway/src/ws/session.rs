//! One WebSocket session: a single task that reads client frames, writes queued broadcasts,
//! pings, and enforces the idle timeout, the participant's rate limit, the room's size, the
//! slow-reader rule and, on an owner's socket, the expiry of the access token it opened with.
//!
//! One task per socket (not a reader and a writer task) keeps an idle socket to a few
//! kilobytes: tens of thousands of mostly idle sockets are the normal load.
//!
//! At shutdown a session first stops reading frames, keeps delivering while the writers commit
//! what they hold, then sends what is queued and closes with 1001 (see `crate::shutdown`).

use std::{pin::Pin, sync::Arc, time::Duration};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes};
use chrono::{DateTime, Utc};
use futures::{Sink, SinkExt, Stream, StreamExt};
use shared::ids::UserId;

use crate::domain::SenderType;
use tokio::{
    sync::mpsc,
    time::{Instant, Sleep},
};
use tokio_util::task::task_tracker::TaskTrackerToken;
use tracing::Instrument;

use super::{
    frames::{self, reason, ClientFrame},
    hub::{ConnId, Outgoing, RoomSocket},
    socket_slots::SocketSlot,
};
use crate::{
    domain::{ClientId, MessageId, MessageText, NewMessage, RoomId},
    fanout::{Fanout, Signal},
    limits::RateLimiters,
    shutdown::ShutdownSignals,
    store::{ChatStore, Committed, PendingMessage},
    writer::MessageWriter,
};

/// Close code for a reader too slow to keep up with its room.
pub const CLOSE_SLOW_CONSUMER: u16 = 1008;
/// Close code when the owner's access token expires (policy violation: the credential the
/// socket was opened with is no longer valid). The client refreshes and reconnects.
pub const CLOSE_TOKEN_EXPIRED: u16 = 1008;
/// Close code when the server shuts down (going away).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code for an idle socket.
pub const CLOSE_IDLE: u16 = 1000;
/// Close code when the server cannot serve the socket right now (its recovery could not be
/// read): the client reconnects.
pub const CLOSE_TRY_AGAIN: u16 = 1013;

/// Limits of one session.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Server ping period.
    pub ping_interval: Duration,
    /// Silence after which the socket is closed.
    pub idle_timeout: Duration,
    /// Queued outgoing frames before the socket counts as slow.
    pub send_queue: usize,
    /// Messages the room may hold.
    pub max_room_messages: i64,
}

/// Who is on the socket and what it may do.
pub struct SessionContext {
    /// The room.
    pub room: RoomId,
    /// The room's owner.
    pub owner_id: UserId,
    /// Visitor or owner.
    pub sender_type: SenderType,
    /// When the owner's access token expires; the socket is closed then. `None` for visitors,
    /// whose token lapses only with the room's inactivity, checked at each handshake.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Messages the room held at the handshake: the socket is owed every one after them, even
    /// those another replica commits before the room's subscription here is live.
    pub stored_messages: i64,
    /// `?after=`: the place of the message after which the socket first gets the room's
    /// messages from the database.
    pub after: Option<i64>,
    /// Negotiated `carinfo.v2`.
    pub v2: bool,
    /// Storage (recovery and read positions).
    pub store: Arc<dyn ChatStore>,
    /// This socket's place among the room's sockets, held until the session ends.
    pub slot: SocketSlot,
    /// The participant's message rate limit.
    pub rate_limits: Arc<RateLimiters>,
    /// Group-commit writer.
    pub writer: MessageWriter,
    /// Delivery to the room's sockets here and elsewhere.
    pub fanout: Arc<Fanout>,
    /// Limits.
    pub limits: SessionLimits,
    /// When to stop reading and when to close.
    pub shutdown: ShutdownSignals,
    /// Keeps shutdown waiting until this session has closed.
    pub tracked: TaskTrackerToken,
}

impl SessionContext {
    /// Tells the room and the owner's channels that this socket's side sends `signal`.
    async fn signal(&self, conn: ConnId, signal: Signal) {
        self.fanout
            .signal(self.room, self.owner_id, conn, self.sender_type, signal)
            .await;
    }
}

pub(super) fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Runs the session until the client leaves, the server stops, or a limit closes it.
pub async fn run_session<S, E>(mut socket: S, ctx: SessionContext)
where
    S: Stream<Item = Result<WsMessage, E>> + Sink<WsMessage> + Unpin,
{
    let (sender, mut outgoing) = mpsc::channel(ctx.limits.send_queue.max(1));
    let conn = ctx.fanout.hub().next_conn();
    ctx.fanout.join(
        ctx.room,
        ctx.owner_id,
        ctx.stored_messages,
        RoomSocket {
            conn,
            sender,
            side: ctx.sender_type,
            v2: ctx.v2,
        },
    );
    let mut state = SocketState::default();
    if let Some(after) = ctx.after {
        match recover(&ctx, &mut socket, after).await {
            Some(last) => state.sent_up_to = last,
            None => {
                ctx.fanout.leave(ctx.room, conn);
                let _ = tokio::time::timeout(CLOSE_GRACE, socket.close()).await;
                return;
            }
        }
    }
    let mut ping = tokio::time::interval_at(
        Instant::now() + ctx.limits.ping_interval,
        ctx.limits.ping_interval,
    );
    let mut last_seen = Instant::now();
    // Boxed so a visitor's session, which has no deadline, carries no timer.
    let mut expiry = ctx
        .token_expires_at
        .map(|at| Box::pin(tokio::time::sleep_until(instant_of(at))));
    let mut stopping = false;

    let farewell = loop {
        tokio::select! {
            () = ctx.shutdown.close.cancelled() => break Some(close(CLOSE_GOING_AWAY, "server shutting down")),
            // From here on frames stay unread: the writers are closing, and a frame left
            // unanswered is one the client sends again on its next socket.
            () = ctx.shutdown.stop.cancelled(), if !stopping => stopping = true,
            () = expired(&mut expiry) => break Some(close(CLOSE_TOKEN_EXPIRED, "token expired")),
            frame = outgoing.recv() => match frame {
                Some(queued) => {
                    let Some(text) = state.outgoing(queued) else { continue };
                    if !send_within(&mut socket, WsMessage::Text(text), ctx.limits.idle_timeout).await {
                        break None;
                    }
                }
                None => break Some(close(CLOSE_SLOW_CONSUMER, "slow consumer")),
            },
            incoming = socket.next(), if !stopping => {
                let Some(Ok(incoming)) = incoming else { break None };
                last_seen = Instant::now();
                let reply = match incoming {
                    WsMessage::Text(text) => handle_text(&ctx, conn, &mut state, text.as_str()).await,
                    WsMessage::Binary(_) => Some(reason::BINARY.into()),
                    WsMessage::Close(_) => break None,
                    WsMessage::Ping(_) | WsMessage::Pong(_) => None,
                };
                if let Some(reply) = reply {
                    let frame = match reply {
                        Reply::Error(reason) => frames::error_frame(&reason),
                        Reply::Frame(frame) => frame,
                    };
                    if !send_within(&mut socket, WsMessage::Text(frame), ctx.limits.idle_timeout).await {
                        break None;
                    }
                }
            },
            _ = ping.tick(), if !stopping => {
                if last_seen.elapsed() >= ctx.limits.idle_timeout {
                    break Some(close(CLOSE_IDLE, "idle timeout"));
                }
                if !send_within(&mut socket, WsMessage::Ping(Default::default()), ctx.limits.idle_timeout).await {
                    break None;
                }
            }
        }
    };
    ctx.fanout.leave(ctx.room, conn);
    if let Some(frame) = farewell {
        // At shutdown the echoes of the last commits are queued here: they go out before the
        // close, so a sender knows its message was saved.
        while let Ok(queued) = outgoing.try_recv() {
            let Some(text) = state.outgoing(queued) else {
                continue;
            };
            if !send_within(&mut socket, WsMessage::Text(text), CLOSE_GRACE).await {
                break;
            }
        }
        if send_within(&mut socket, frame, CLOSE_GRACE).await {
            await_close_reply(&mut socket).await;
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, socket.close()).await;
}

/// The monotonic instant of a wall-clock time (now, if it has passed).
pub(super) fn instant_of(at: DateTime<Utc>) -> Instant {
    Instant::now() + (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Resolves when the token's deadline passes; never without one.
pub(super) async fn expired(expiry: &mut Option<Pin<Box<Sleep>>>) {
    match expiry {
        Some(deadline) => deadline.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The rest of the closing handshake: reads, and drops, what the client sent until its close
/// frame answers ours. Dropping a TCP socket with unread data makes the kernel reset the
/// connection, and a reset discards what the client has not read yet, our close frame
/// included: the client would see a dropped connection instead of the close code. At shutdown
/// there is unread data, since sessions stop reading first.
pub(super) async fn await_close_reply<S, E>(socket: &mut S)
where
    S: Stream<Item = Result<WsMessage, E>> + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(frame)) = socket.next().await {
            if matches!(frame, WsMessage::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// How long the closing handshake may take before the socket is simply dropped.
pub(super) const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Sends one frame, giving up after `limit`. A client that stops reading fills its TCP window
/// and would otherwise hold the session in `send` for ever, out of reach of the idle timeout,
/// the slow-reader rule and shutdown.
pub(super) async fn send_within<S: Sink<WsMessage> + Unpin>(
    socket: &mut S,
    frame: WsMessage,
    limit: Duration,
) -> bool {
    matches!(
        tokio::time::timeout(limit, socket.send(frame)).await,
        Ok(Ok(()))
    )
}

/// What a socket remembers between frames.
#[derive(Default)]
struct SocketState {
    /// The place of the last message sent by recovery: the queue's copies of those are
    /// skipped.
    sent_up_to: i64,
    /// This socket's committed messages whose echo is still queued, with their client ids
    /// (`carinfo.v2` sockets get them back in the echo).
    echoes: Vec<(MessageId, ClientId)>,
    /// When the socket last sent a typing frame on.
    last_typing: Option<Instant>,
    /// When the socket last sent a read frame.
    last_read: Option<Instant>,
}

/// Longest list of echoes awaited (a socket commits one message at a time).
const MAX_ECHOES: usize = 8;
/// A socket's typing frames go on at most this often; the others are dropped.
const TYPING_INTERVAL: Duration = Duration::from_secs(1);
/// A socket moves its read position at most this often.
const READ_INTERVAL: Duration = Duration::from_millis(200);

impl SocketState {
    /// The text to send for a queued frame, if any.
    fn outgoing(&mut self, queued: Outgoing) -> Option<Utf8Bytes> {
        let Some((id, position)) = queued.message else {
            return Some(queued.frame);
        };
        if position <= self.sent_up_to {
            return None;
        }
        match self.echoes.iter().position(|(echo, _)| *echo == id) {
            Some(i) => Some(frames::with_client_id(
                &queued.frame,
                self.echoes.swap_remove(i).1,
            )),
            None => Some(queued.frame),
        }
    }

    /// Whether an event last let through at `last` may go through now, noting it if so.
    fn allow(last: &mut Option<Instant>, interval: Duration) -> bool {
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < interval) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// `?after=`: sends the room's messages after the `after`-th, in order, before anything
/// live; returns the place of the last one sent (the queue's copies up to it are skipped).
/// `None` when the database cannot be read: the socket is closed, to be opened again.
async fn recover<S>(ctx: &SessionContext, socket: &mut S, after: i64) -> Option<i64>
where
    S: Sink<WsMessage> + Unpin,
{
    const PAGE: i64 = 500;
    let mut last = after;
    loop {
        let page = match ctx.store.list_messages_after(ctx.room, last, PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "recovery failed");
                let _ = send_within(
                    socket,
                    close(CLOSE_TRY_AGAIN, "try again later"),
                    CLOSE_GRACE,
                )
                .await;
                return None;
            }
        };
        for message in &page {
            let frame = WsMessage::Text(frames::message_frame(message));
            if !send_within(socket, frame, ctx.limits.idle_timeout).await {
                return None;
            }
            last = message.position;
        }
        if (page.len() as i64) < PAGE {
            return Some(last);
        }
    }
}

/// What to send back to the socket a client frame came from.
enum Reply {
    /// `{"error": "..."}`.
    Error(String),
    /// A frame (the original of a message sent again).
    Frame(Utf8Bytes),
}

impl From<&str> for Reply {
    fn from(reason: &str) -> Self {
        Self::Error(reason.to_owned())
    }
}

/// Handles one client frame; returns what to send back to this socket only, if anything.
async fn handle_text(
    ctx: &SessionContext,
    conn: ConnId,
    state: &mut SocketState,
    text: &str,
) -> Option<Reply> {
    match frames::parse_client_frame(text, ctx.v2) {
        Ok(ClientFrame::Message(body, client_id)) => {
            send_message(ctx, state, body, client_id).await
        }
        Ok(ClientFrame::Typing) => {
            if SocketState::allow(&mut state.last_typing, TYPING_INTERVAL) {
                ctx.signal(conn, Signal::Typing).await;
            }
            None
        }
        Ok(ClientFrame::Read(id)) => read(ctx, conn, state, id).await,
        Err(reason) => Some(Reply::Error(reason)),
    }
}

/// Stores this side's read position at message `id` and tells the room and the owner.
async fn read(
    ctx: &SessionContext,
    conn: ConnId,
    state: &mut SocketState,
    id: MessageId,
) -> Option<Reply> {
    if !SocketState::allow(&mut state.last_read, READ_INTERVAL) {
        return Some(reason::RATE_LIMITED.into());
    }
    let message = match ctx.store.find_message(ctx.room, id).await {
        Ok(Some(message)) => message,
        Ok(None) => return Some(reason::UNKNOWN_MESSAGE.into()),
        Err(_) => return Some(reason::NOT_SAVED.into()),
    };
    match ctx
        .store
        .mark_read(ctx.room, ctx.sender_type, &message)
        .await
    {
        Ok(Some(room)) => {
            ctx.signal(conn, Signal::Read(id)).await;
            ctx.fanout.room_changed(&room).await;
            None
        }
        // Already read as far, or further.
        Ok(None) => None,
        Err(_) => Some(reason::NOT_SAVED.into()),
    }
}

/// Validates, rate-limits, commits and broadcasts one message.
async fn send_message(
    ctx: &SessionContext,
    state: &mut SocketState,
    body: MessageText,
    client_id: Option<ClientId>,
) -> Option<Reply> {
    if !ctx.rate_limits.message(ctx.room, ctx.sender_type) {
        return Some(reason::RATE_LIMITED.into());
    }
    if ctx
        .fanout
        .hub()
        .is_full(ctx.room, ctx.limits.max_room_messages)
    {
        return Some(reason::ROOM_FULL.into());
    }
    let message = NewMessage::new(ctx.room, ctx.sender_type, body, client_id);
    metrics::counter!("chat_messages_in_total").increment(1);
    let span = tracing::info_span!("chat.message", message.id = %message.id, room.id = %ctx.room);
    let id = message.id;
    let pending = PendingMessage {
        message,
        owner_id: ctx.owner_id,
        traceparent: span.in_scope(shared::events::trace_context::current_traceparent),
    };
    let started = std::time::Instant::now();
    let committed = ctx.writer.commit(pending).instrument(span).await;
    metrics::histogram!("chat_message_commit_wait_seconds").record(started.elapsed().as_secs_f64());
    match committed {
        Ok(Committed::Stored(_)) => {
            tracing::debug!(message.id = %id, room.id = %ctx.room, "message committed");
            if let Some(client_id) = client_id.filter(|_| ctx.v2) {
                if state.echoes.len() == MAX_ECHOES {
                    state.echoes.remove(0);
                }
                state.echoes.push((id, client_id));
            }
            None
        }
        // Sent again: the sender alone gets the stored message's broadcast again.
        Ok(Committed::Duplicate(original)) => {
            let frame = frames::message_frame(&original);
            Some(Reply::Frame(match client_id.filter(|_| ctx.v2) {
                Some(client_id) => frames::with_client_id(&frame, client_id),
                None => frame,
            }))
        }
        Err(_) => Some(reason::NOT_SAVED.into()),
    }
}
