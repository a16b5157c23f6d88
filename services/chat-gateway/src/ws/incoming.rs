//! What a room socket does with a client frame: a message is committed (once per client id),
//! typing and read frames (`carinfo.v2`) go to the room and the owner's channels; and what the
//! socket remembers between frames.

use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::time::Instant;
use tracing::Instrument;

use super::{
    frames::{self, reason, ClientFrame},
    hub::{ConnId, Outgoing},
    session::SessionContext,
};
use crate::{
    domain::{ClientId, MessageId, MessageText, NewMessage},
    fanout::Signal,
    store::{Committed, PendingMessage},
};

/// What a socket remembers between frames.
#[derive(Default)]
pub(super) struct SocketState {
    /// The place of the last message sent by recovery: the queue's copies of those are
    /// skipped.
    pub(super) sent_up_to: i64,
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
    pub(super) fn outgoing(&mut self, queued: Outgoing) -> Option<Utf8Bytes> {
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

/// What to send back to the socket a client frame came from.
pub(super) enum Reply {
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
pub(super) async fn handle_text(
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
        return Some(reason::READS_RATE_LIMITED.into());
    }
    let message = match ctx.store.find_message(ctx.room, id).await {
        Ok(Some(message)) => message,
        Ok(None) => return Some(reason::UNKNOWN_MESSAGE.into()),
        Err(_) => return Some(reason::READ_NOT_SAVED.into()),
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
        Err(_) => Some(reason::READ_NOT_SAVED.into()),
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
        Ok(Committed::RoomClosed) => Some(reason::ROOM_CLOSED.into()),
        Err(_) => Some(reason::NOT_SAVED.into()),
    }
}
