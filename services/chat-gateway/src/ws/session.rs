//! One WebSocket session: a single task that reads client frames, writes queued broadcasts,
//! pings, and enforces the idle timeout, the participant's rate limit, the room's size, the
//! slow-reader rule and, on an owner's socket, the expiry of the access token it opened with.
//! A socket opened with `?after=` first gets what it missed from the database.
//!
//! One task per socket (not a reader and a writer task) keeps an idle socket to a few
//! kilobytes: tens of thousands of mostly idle sockets are the normal load.
//!
//! At shutdown a session first stops reading frames, keeps delivering while the writers commit
//! what they hold, then sends what is queued and closes with 1001 (see `crate::shutdown`).

use std::{sync::Arc, time::Duration};

use axum::extract::ws::Message as WsMessage;
use chrono::{DateTime, Utc};
use futures::{Sink, SinkExt, Stream, StreamExt};
use shared::ids::UserId;
use tokio::{sync::mpsc, time::Instant};
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::{
    frames::{self, reason},
    hub::{ConnId, RoomSocket},
    incoming::{handle_text, Reply, SocketState},
    socket_io::{
        await_close_reply, close, expired, instant_of, send_within, CLOSE_GOING_AWAY, CLOSE_GRACE,
        CLOSE_IDLE, CLOSE_SLOW_CONSUMER, CLOSE_TOKEN_EXPIRED, CLOSE_TRY_AGAIN,
    },
    socket_slots::SocketSlot,
};
use crate::{
    domain::{RoomId, SenderType},
    fanout::{Fanout, Signal},
    limits::RateLimiters,
    shutdown::ShutdownSignals,
    store::ChatStore,
    writer::MessageWriter,
};

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
    /// The room took the visitor's messages at the handshake (not closed by the owner).
    pub room_open: bool,
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
    pub(super) async fn signal(&self, conn: ConnId, signal: Signal) {
        self.fanout
            .signal(self.room, self.owner_id, conn, self.sender_type, signal)
            .await;
    }
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
    // A `carinfo.v2` client learns at once that the room is closed, not from a refusal.
    if ctx.v2 && !ctx.room_open {
        let frame = WsMessage::Text(frames::state_frame(ctx.room, false));
        if !send_within(&mut socket, frame, ctx.limits.idle_timeout).await {
            ctx.fanout.leave(ctx.room, conn);
            return;
        }
    }
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
