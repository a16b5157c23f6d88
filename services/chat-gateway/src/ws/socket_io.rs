//! Writing to and closing a socket, the same for room sockets and owner channels: sends that
//! give up, the close codes and the closing handshake.

use std::{pin::Pin, time::Duration};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes};
use chrono::{DateTime, Utc};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::time::{Instant, Sleep};

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
/// Close code when an owner channel may have missed frames: reconnect and read the rooms
/// again.
pub const CLOSE_RESYNC: u16 = 1012;

/// A close frame.
pub(super) fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
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
