//! `GET /ws/chat/<room_id>/` (and `/back/ws/chat/<room_id>/`): authorises the handshake
//! *before* upgrading. A refused handshake is answered HTTP 403, as Channels did.

use std::time::Duration;

use axum::{
    extract::{
        ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade},
        State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::http::{ApiError, DetailBody, Path, Query};

use super::{
    frames,
    session::{run_session, SessionContext, SessionLimits},
};
use crate::{
    domain::{MessageId, Participant, RoomAccess, RoomId, SenderType, VisitorToken},
    state::AppState,
};

/// Why a handshake over `WS_SOCKETS_PER_TOKEN` or `WS_SOCKETS_PER_ROOM` is refused.
const TOO_MANY_SOCKETS: &str = "Too many open connections to this chat.";

/// Credentials in the query string (browsers cannot set headers on a WebSocket), and where
/// to resume.
#[derive(Debug, Default, Deserialize)]
pub struct SocketAuth {
    /// The visitor token from `/api/chat/start/`.
    visitor: Option<String>,
    /// An owner access token.
    token: Option<String>,
    /// Resume after this message of the room.
    after: Option<String>,
}

/// Why `?after=` is refused.
const UNKNOWN_AFTER: &str = "\"after\" is not a message of this chat.";

/// Upper bound on one incoming frame: a 4,096-character message, JSON-escaped, fits.
const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Chat WebSocket for a room.
#[utoipa::path(
    get,
    path = "/ws/chat/{room_id}/",
    tag = "chat",
    params(
        ("room_id" = String, Path, format = Uuid),
        ("visitor" = Option<String>, Query, description = "Visitor token"),
        ("token" = Option<String>, Query, description = "Owner access token"),
        ("after" = Option<String>, Query, format = Uuid, description = "Recovery: before anything live, the socket gets every message of the room after this one, in order"),
        ("Sec-WebSocket-Protocol" = Option<String>, Header, description = "`carinfo.v2` for typing and read frames and `client_id` echoes (see docs/api-guide.md)"),
    ),
    responses(
        (status = 101, description = "Upgraded. Send `{\"message\": \"...\"}` (optionally with `\"client_id\": \"<uuid>\"`: a resend of a stored client id is not stored again, and the sender gets the original broadcast); every socket of the room receives `{id, room_id, sender_type, message, created_at}`; an invalid frame gets `{\"error\": \"...\"}`. An owner's socket is closed with 1008 `token expired` when its access token expires. A `carinfo.v2` socket may also send `{\"type\": \"typing\"}` and `{\"type\": \"read\", \"message_id\": ...}`, receives `{\"type\": \"typing\", room_id, sender_type}` and `{\"type\": \"read\", room_id, sender_type, message_id}`, and its own messages' broadcasts carry their `client_id`."),
        (status = 400, description = "`after` is not a message of this room", body = DetailBody),
        (status = 403, description = "Missing or wrong credentials, unknown room, or a visitor token of a room idle for longer than `VISITOR_TOKEN_IDLE_DAYS`"),
        (status = 429, description = "This participant or room already holds as many sockets as allowed", body = DetailBody),
    )
)]
pub async fn chat_socket(
    State(state): State<AppState>,
    room: Result<Path<RoomId>, ApiError>,
    auth: Result<Query<SocketAuth>, ApiError>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // A malformed room id or query is refused like any other bad handshake.
    let admitted = match (room, auth) {
        (Ok(Path(room)), Ok(Query(auth))) => authorize(&state, room, &auth).await,
        _ => Err(ApiError::PermissionDenied),
    };
    let admitted = match admitted {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.into_response(),
    };
    let after = match resume_point(&state, &admitted).await {
        Ok(after) => after,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(upgrade) = upgrade else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "detail": "Expected a WebSocket upgrade request." })),
        )
            .into_response();
    };
    let Some(slot) = state
        .socket_slots
        .claim(admitted.access.id.0, admitted.sender_type)
    else {
        metrics::counter!("ws_sockets_refused_total").increment(1);
        return ApiError::LimitReached(TOO_MANY_SOCKETS).into_response();
    };
    if admitted.sender_type == SenderType::Owner {
        match state.store.mark_read_by_owner(admitted.access.id).await {
            Ok(Some(room)) => state.fanout.room_changed(&room).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not mark room read"),
        }
    }
    let upgrade = upgrade.protocols([frames::PROTOCOL_V2]);
    let v2 = upgrade.selected_protocol().is_some();
    let ctx = session_context(&state, admitted, slot, after, v2);
    sized(upgrade).on_upgrade(move |socket| {
        let span = tracing::info_span!("ws.session", room.id = %ctx.room, ws.sender_type = ?ctx.sender_type);
        tracing::Instrument::instrument(run_session(socket, ctx), span)
    })
}

/// Small buffers: most sockets are idle, and library defaults (128 KiB) would cost more
/// memory per socket than everything else together.
pub(super) fn sized(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

/// The place of the `?after=` message in the room; 400 when it is not one of the room's.
async fn resume_point(state: &AppState, admitted: &Admitted) -> Result<Option<i64>, ApiError> {
    let Some(raw) = admitted.after.as_deref() else {
        return Ok(None);
    };
    let refused = || ApiError::BadRequest(UNKNOWN_AFTER.to_owned());
    let id = raw.trim().parse().map_err(|_| refused())?;
    let message = state
        .store
        .find_message(admitted.access.id, MessageId(id))
        .await?
        .ok_or_else(refused)?;
    Ok(Some(message.position))
}

/// Who the handshake admitted.
struct Admitted {
    access: RoomAccess,
    sender_type: SenderType,
    /// The owner's access token expiry: the socket closes then (visitors: `None`).
    token_expires_at: Option<DateTime<Utc>>,
    /// `?after=`, as given.
    after: Option<String>,
}

/// Every refusal is the same 403: a browser cannot read the body of a refused handshake
/// anyway, and the history endpoint says why a visitor token lapsed.
async fn authorize(
    state: &AppState,
    room: RoomId,
    auth: &SocketAuth,
) -> Result<Admitted, ApiError> {
    let access = state
        .store
        .find_room_access(room)
        .await?
        .ok_or(ApiError::PermissionDenied)?;
    let (participant, token_expires_at) = match auth.token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => {
            let grant = state
                .verifier
                .verify_access_grant(token)
                .map_err(|_| ApiError::PermissionDenied)?;
            (Participant::Owner(grant.user_id), Some(grant.expires_at))
        }
        None => {
            let visitor = auth.visitor.as_deref().and_then(VisitorToken::presented);
            (Participant::Visitor(visitor), None)
        }
    };
    let sender_type = access
        .admit(
            &participant,
            shared::time::now(),
            state.config.visitor_token_idle(),
        )
        .map_err(|_| ApiError::PermissionDenied)?;
    Ok(Admitted {
        access,
        sender_type,
        token_expires_at,
        after: auth.after.clone(),
    })
}

fn session_context(
    state: &AppState,
    admitted: Admitted,
    slot: super::socket_slots::SocketSlot,
    after: Option<i64>,
    v2: bool,
) -> SessionContext {
    let config = &state.config;
    SessionContext {
        room: admitted.access.id,
        owner_id: admitted.access.owner_id,
        sender_type: admitted.sender_type,
        token_expires_at: admitted.token_expires_at,
        stored_messages: admitted.access.message_count,
        room_open: admitted.access.is_active,
        after,
        v2,
        store: state.store.clone(),
        slot,
        rate_limits: state.limits.clone(),
        writer: state.writer.clone(),
        fanout: state.fanout.clone(),
        limits: SessionLimits {
            ping_interval: Duration::from_secs(config.ws_ping_interval_secs.max(1)),
            idle_timeout: Duration::from_secs(config.ws_idle_timeout_secs.max(1)),
            send_queue: config.ws_send_queue,
            max_room_messages: config.room_max_messages,
        },
        shutdown: state.shutdown.signals(),
        tracked: state.shutdown.session(),
    }
}
