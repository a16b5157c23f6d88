//! `GET /ws/owner/` (and `/back/ws/owner/`): the owner's channel. One socket per device
//! hears everything that happens in all of the owner's rooms, on any replica: rooms created
//! and changed, messages, typing and read. It only listens; the owner writes in a room's
//! socket.
//!
//! Its subscription is in place before the handshake is answered, so a client that connects
//! first and then reads `GET /api/chat/rooms/` misses nothing. When the channel may have
//! missed something (NATS was unreachable, or the client read too slowly) it is closed with
//! 1012, and the client reconnects and reads the rooms again.

use std::{pin::Pin, sync::Arc, time::Duration};

use axum::{
    extract::{
        ws::{
            rejection::WebSocketUpgradeRejection, Message as WsMessage, Utf8Bytes, WebSocketUpgrade,
        },
        State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use shared::{
    http::{ApiError, DetailBody, Query},
    ids::UserId,
};
use tokio::{
    sync::mpsc,
    time::{Instant, Sleep},
};

use super::{
    frames::{self, reason},
    hub::ConnId,
    socket_io::{
        await_close_reply, close, expired, instant_of, send_within, CLOSE_GOING_AWAY, CLOSE_GRACE,
        CLOSE_IDLE, CLOSE_RESYNC, CLOSE_TOKEN_EXPIRED,
    },
    socket_slots::SocketSlot,
    upgrade::sized,
};
use crate::{domain::SenderType, fanout::Fanout, shutdown::ShutdownSignals, state::AppState};

/// The owner's access token, in the query string as for the room socket.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelAuth {
    /// An owner access token.
    token: Option<String>,
}

/// The owner's live channel.
#[utoipa::path(
    get,
    path = "/ws/owner/",
    tag = "chat",
    params(("token" = String, Query, description = "Owner access token")),
    responses(
        (status = 101, description = "Upgraded. The server sends `{\"type\": \"room\", \"room\": <as GET /api/chat/rooms/>}` when one of the owner's rooms is created or changes, `{\"type\": \"message\", \"message\": <the room socket's broadcast>}` for every message of the owner's rooms, `{\"type\": \"typing\", room_id, sender_type}` and `{\"type\": \"read\", room_id, sender_type, message_id}`. Closed with 1008 `token expired` when the access token expires and with 1012 when it may have missed frames (reconnect, then read the rooms again)."),
        (status = 403, description = "Missing, invalid or expired access token"),
        (status = 429, description = "This owner already holds as many channels as allowed", body = DetailBody),
    )
)]
pub async fn owner_socket(
    State(state): State<AppState>,
    auth: Result<Query<ChannelAuth>, ApiError>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let grant = auth.ok().and_then(|Query(auth)| {
        let token = auth.token.filter(|t| !t.is_empty())?;
        state.verifier.verify_access_grant(&token).ok()
    });
    let Some(grant) = grant else {
        return ApiError::PermissionDenied.into_response();
    };
    let Ok(upgrade) = upgrade else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "detail": "Expected a WebSocket upgrade request." })),
        )
            .into_response();
    };
    let owner = grant.user_id;
    let Some(slot) = state.socket_slots.claim(owner.as_uuid(), SenderType::Owner) else {
        metrics::counter!("ws_sockets_refused_total").increment(1);
        return ApiError::LimitReached("Too many open owner channels.").into_response();
    };
    let (sender, outgoing) = mpsc::channel(state.config.ws_send_queue.max(1));
    let membership = Membership {
        fanout: state.fanout.clone(),
        owner,
        conn: state.fanout.hub().next_conn(),
        _slot: slot,
    };
    state
        .fanout
        .join_owner(owner, membership.conn, sender)
        .await;
    let channel = Channel {
        membership,
        outgoing,
        expiry: Box::pin(tokio::time::sleep_until(instant_of(grant.expires_at))),
        ping_interval: Duration::from_secs(state.config.ws_ping_interval_secs.max(1)),
        idle_timeout: Duration::from_secs(state.config.ws_idle_timeout_secs.max(1)),
        shutdown: state.shutdown.signals(),
    };
    let tracked = state.shutdown.session();
    sized(upgrade).on_upgrade(move |socket| async move {
        let _tracked = tracked;
        channel.run(socket).await;
    })
}

/// The channel's place in the hub, given back however the channel ends (even when the
/// upgrade never completes).
struct Membership {
    fanout: Arc<Fanout>,
    owner: UserId,
    conn: ConnId,
    _slot: SocketSlot,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.fanout.leave_owner(self.owner, self.conn);
    }
}

struct Channel {
    membership: Membership,
    outgoing: mpsc::Receiver<Utf8Bytes>,
    expiry: Pin<Box<Sleep>>,
    ping_interval: Duration,
    idle_timeout: Duration,
    shutdown: ShutdownSignals,
}

impl Channel {
    async fn run<S, E>(mut self, mut socket: S)
    where
        S: Stream<Item = Result<WsMessage, E>> + Sink<WsMessage> + Unpin,
    {
        let mut ping =
            tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        let mut last_seen = Instant::now();
        let mut expiry = Some(self.expiry);
        let farewell = loop {
            tokio::select! {
                () = self.shutdown.close.cancelled() => break Some(close(CLOSE_GOING_AWAY, "server shutting down")),
                () = expired(&mut expiry) => break Some(close(CLOSE_TOKEN_EXPIRED, "token expired")),
                frame = self.outgoing.recv() => match frame {
                    Some(text) => {
                        if !send_within(&mut socket, WsMessage::Text(text), self.idle_timeout).await {
                            break None;
                        }
                    }
                    None => break Some(close(CLOSE_RESYNC, "resync")),
                },
                incoming = socket.next() => {
                    let Some(Ok(incoming)) = incoming else { break None };
                    last_seen = Instant::now();
                    match incoming {
                        WsMessage::Close(_) => break None,
                        WsMessage::Text(_) | WsMessage::Binary(_) => {
                            let frame = WsMessage::Text(frames::error_frame(reason::RECEIVE_ONLY));
                            if !send_within(&mut socket, frame, self.idle_timeout).await {
                                break None;
                            }
                        }
                        WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                    }
                },
                _ = ping.tick() => {
                    if last_seen.elapsed() >= self.idle_timeout {
                        break Some(close(CLOSE_IDLE, "idle timeout"));
                    }
                    if !send_within(&mut socket, WsMessage::Ping(Default::default()), self.idle_timeout).await {
                        break None;
                    }
                }
            }
        };
        drop(self.membership);
        if let Some(frame) = farewell {
            if send_within(&mut socket, frame, CLOSE_GRACE).await {
                await_close_reply(&mut socket).await;
            }
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, socket.close()).await;
    }
}
