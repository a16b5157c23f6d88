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
    frames::{self, reason},
    socket_slots::SocketSlot,
};
use crate::{
    domain::{Message, RoomId},
    fanout::Fanout,
    limits::RateLimiters,
    shutdown::ShutdownSignals,
    store::PendingMessage,
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
    /// Messages the room held at the handshake.
    pub stored_messages: i64,
    /// When the handshake read the room: messages committed from then on are owed to this
    /// socket, even those another replica committed before the room's subscription here was
    /// live.
    pub admitted_at: DateTime<Utc>,
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

fn close(code: u16, reason: &'static str) -> WsMessage {
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
    let conn = ctx
        .fanout
        .join(ctx.room, ctx.stored_messages, ctx.admitted_at, sender);
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
                Some(text) => {
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
                    WsMessage::Text(text) => handle_text(&ctx, text.as_str()).await,
                    WsMessage::Binary(_) => Some(reason::BINARY.to_owned()),
                    WsMessage::Close(_) => break None,
                    WsMessage::Ping(_) | WsMessage::Pong(_) => None,
                };
                if let Some(reply) = reply {
                    let frame = WsMessage::Text(frames::error_frame(&reply));
                    if !send_within(&mut socket, frame, ctx.limits.idle_timeout).await {
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
        while let Ok(text) = outgoing.try_recv() {
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
fn instant_of(at: DateTime<Utc>) -> Instant {
    Instant::now() + (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Resolves when the token's deadline passes; never without one.
async fn expired(expiry: &mut Option<Pin<Box<Sleep>>>) {
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
async fn await_close_reply<S, E>(socket: &mut S)
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
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Sends one frame, giving up after `limit`. A client that stops reading fills its TCP window
/// and would otherwise hold the session in `send` for ever, out of reach of the idle timeout,
/// the slow-reader rule and shutdown.
async fn send_within<S: Sink<WsMessage> + Unpin>(
    socket: &mut S,
    frame: WsMessage,
    limit: Duration,
) -> bool {
    matches!(
        tokio::time::timeout(limit, socket.send(frame)).await,
        Ok(Ok(()))
    )
}

/// Validates, rate-limits, commits and broadcasts one client frame; returns the error to
/// send back to this socket only, if any.
async fn handle_text(ctx: &SessionContext, text: &str) -> Option<String> {
    let body = match frames::parse_client_frame(text) {
        Ok(body) => body,
        Err(reason) => return Some(reason),
    };
    if !ctx.rate_limits.message(ctx.room, ctx.sender_type) {
        return Some(reason::RATE_LIMITED.to_owned());
    }
    if ctx
        .fanout
        .hub()
        .is_full(ctx.room, ctx.limits.max_room_messages)
    {
        return Some(reason::ROOM_FULL.to_owned());
    }
    let message = Message::new(ctx.room, ctx.sender_type, body);
    metrics::counter!("chat_messages_in_total").increment(1);
    let span = tracing::info_span!("chat.message", message.id = %message.id, room.id = %ctx.room);
    let frame = frames::message_frame(&message);
    let id = message.id;
    let pending = PendingMessage {
        message,
        owner_id: ctx.owner_id,
        traceparent: span.in_scope(shared::events::trace_context::current_traceparent),
    };
    let started = std::time::Instant::now();
    let committed = ctx.writer.commit(pending, frame).instrument(span).await;
    metrics::histogram!("chat_message_commit_wait_seconds").record(started.elapsed().as_secs_f64());
    match committed {
        Ok(()) => {
            tracing::debug!(message.id = %id, room.id = %ctx.room, "message committed");
            None
        }
        Err(_) => Some(reason::NOT_SAVED.to_owned()),
    }
}
