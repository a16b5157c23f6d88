//! `GET /api/chat/rooms/<room_id>/messages/`: a room's history, oldest first, for its owner
//! (JWT) or its visitor (`?visitor=`). `after` and `limit` page through long rooms; without
//! them the whole history comes back, as plain clients expect.

use std::{collections::HashMap, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{FromRequestParts, Path, Query, State},
    http::{header, request::Parts, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use shared::{
    auth::{extract::bearer_token, OwnerAuth},
    events::catalog::SenderType,
    http::{fields::msg, ApiError, DetailBody, FieldErrors},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    app::AppState,
    domain::{Message, MessageId, RoomId, VisitorToken},
    store::ChatStore,
};

/// Largest page.
pub const MAX_PAGE: i64 = 500;

/// The 403 detail for a visitor token whose room has been idle longer than
/// `VISITOR_TOKEN_IDLE_DAYS`: the web client then forgets the room and starts a new chat.
pub const CHAT_EXPIRED: &str = "This chat has expired.";

/// A message in the history (note: `content`, where the live frame says `message`).
#[derive(Serialize, ToSchema)]
pub struct HistoryMessage {
    /// Message id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Room id.
    #[schema(format = Uuid)]
    pub room_id: String,
    /// `visitor` or `owner`.
    #[schema(value_type = String)]
    pub sender_type: SenderType,
    /// The text.
    pub content: String,
    /// Commit time.
    pub created_at: String,
}

impl From<&Message> for HistoryMessage {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.to_string(),
            room_id: m.room_id.to_string(),
            sender_type: m.sender_type,
            content: m.content.clone(),
            created_at: shared::time::format(&m.created_at),
        }
    }
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_messages))
}

struct Page {
    after: Option<MessageId>,
    limit: Option<i64>,
}

fn parse_page(query: &HashMap<String, String>) -> Result<Page, FieldErrors> {
    let mut errors = FieldErrors::default();
    let after = query
        .get("after")
        .filter(|v| !v.is_empty())
        .and_then(|raw| match Uuid::parse_str(raw) {
            Ok(id) => Some(MessageId(id)),
            Err(_) => {
                errors.add("after", msg::INVALID_UUID);
                None
            }
        });
    let limit = query
        .get("limit")
        .filter(|v| !v.is_empty())
        .and_then(|raw| match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Some(n),
            Ok(_) => {
                errors.add(
                    "limit",
                    format!("Ensure this value is between 1 and {MAX_PAGE}."),
                );
                None
            }
            Err(_) => {
                errors.add("limit", "A valid integer is required.");
                None
            }
        });
    if errors.is_empty() {
        Ok(Page { after, limit })
    } else {
        Err(errors)
    }
}

/// Get message history for a room.
#[utoipa::path(
    get,
    path = "/api/chat/rooms/{room_id}/messages/",
    tag = "chat",
    security(("jwt" = []), ()),
    params(
        ("room_id" = String, Path, format = Uuid),
        ("visitor" = Option<String>, Query, description = "Visitor token (instead of a JWT)"),
        ("after" = Option<String>, Query, format = Uuid, description = "Only messages after this one"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-500; a `Link: rel=\"next\"` header points to the next page"),
    ),
    responses(
        (status = 200, body = Vec<HistoryMessage>),
        (status = 401, description = "No credentials", body = DetailBody),
        (status = 403, description = "Another owner's room, or another room's visitor token; `{\"detail\": \"This chat has expired.\"}` for the room's own visitor token once the room has been idle longer than `VISITOR_TOKEN_IDLE_DAYS`", body = DetailBody),
        (status = 404, description = "Unknown room", body = DetailBody),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    participant: Participant,
) -> Result<Response, ApiError> {
    let room = RoomId::parse(&room_id).ok_or(ApiError::NotFound)?;
    let page = parse_page(&query)?;
    let access = state
        .store
        .find_room_access(room)
        .await?
        .ok_or(ApiError::NotFound)?;
    let allowed = match &participant {
        Participant::Owner(owner) => owner.user_id == access.owner_id,
        Participant::Visitor(Some(token)) => token.hash() == access.visitor_token_hash,
        Participant::Visitor(None) => false,
    };
    let is_owner = matches!(participant, Participant::Owner(_));
    if !allowed {
        return Err(ApiError::PermissionDenied);
    }
    // Only the holder of the right token learns that it lapsed; a wrong one got the 403 above.
    if !is_owner
        && access.visitor_token_expired(shared::time::now(), state.config.visitor_token_idle())
    {
        return Err(ApiError::Forbidden(CHAT_EXPIRED));
    }
    if is_owner {
        state.store.mark_read_by_owner(room).await?;
    }
    let Some(limit) = page.limit else {
        // The bare URL returns every message: streamed a chunk at a time, so a read costs the
        // same memory whatever the room holds. The first chunk is read before the status is
        // sent, so an outage is still a 503.
        let first = state
            .store
            .list_messages(room, page.after, Some(CHUNK))
            .await?;
        return Ok(stream_history(state.store.clone(), room, first));
    };
    let messages = state
        .store
        .list_messages(room, page.after, Some(limit))
        .await?;
    let body: Vec<HistoryMessage> = messages.iter().map(HistoryMessage::from).collect();
    let mut response = Json(body).into_response();
    if let Some(last) = messages.last().filter(|_| messages.len() as i64 == limit) {
        // Credentials never go into a link: the client adds its own `visitor` or header.
        let next = format!(
            "</api/chat/rooms/{room}/messages/?after={}&limit={limit}>; rel=\"next\"",
            last.id
        );
        if let Ok(value) = HeaderValue::from_str(&next) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// Messages read per query while streaming a whole history.
const CHUNK: i64 = 100;

enum Phase {
    Open(Vec<Message>),
    Chunk(Vec<Message>),
    Close,
    Done,
}

struct HistoryCursor {
    store: Arc<dyn ChatStore>,
    room: RoomId,
    after: Option<MessageId>,
    wrote_any: bool,
    phase: Phase,
}

/// The JSON array of the room's messages from `first` on: `[`, then each chunk read as the
/// previous one is sent, then `]`.
fn stream_history(store: Arc<dyn ChatStore>, room: RoomId, first: Vec<Message>) -> Response {
    let cursor = HistoryCursor {
        store,
        room,
        after: None,
        wrote_any: false,
        phase: Phase::Open(first),
    };
    let chunks = futures::stream::unfold(cursor, |mut cursor| async move {
        let bytes = match std::mem::replace(&mut cursor.phase, Phase::Done) {
            Phase::Open(first) => {
                cursor.phase = Phase::Chunk(first);
                Bytes::from_static(b"[")
            }
            Phase::Chunk(page) => {
                let full = page.len() as i64 == CHUNK;
                let mut buf = Vec::with_capacity(page.len() * 256);
                for message in &page {
                    if std::mem::replace(&mut cursor.wrote_any, true) {
                        buf.push(b',');
                    }
                    if let Err(e) = serde_json::to_writer(&mut buf, &HistoryMessage::from(message))
                    {
                        return Some((Err(std::io::Error::other(e)), cursor));
                    }
                }
                cursor.after = page.last().map(|m| m.id).or(cursor.after);
                cursor.phase = if full {
                    match cursor
                        .store
                        .list_messages(cursor.room, cursor.after, Some(CHUNK))
                        .await
                    {
                        Ok(next) => Phase::Chunk(next),
                        // Headers are gone: ending the body early is how the client learns.
                        Err(e) => return Some((Err(std::io::Error::other(e)), cursor)),
                    }
                } else {
                    Phase::Close
                };
                Bytes::from(buf)
            }
            Phase::Close => Bytes::from_static(b"]"),
            Phase::Done => return None,
        };
        Some((Ok(bytes), cursor))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// Who is asking: an owner (bearer token, checked) or a visitor (token from the query).
pub enum Participant {
    /// A valid owner access token.
    Owner(OwnerAuth),
    /// `?visitor=`; `None` when it cannot be a token.
    Visitor(Option<VisitorToken>),
}

impl FromRequestParts<AppState> for Participant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer_token(parts)?.is_some() {
            return OwnerAuth::from_request_parts(parts, state)
                .await
                .map(Self::Owner);
        }
        let visitor = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(mut q)| q.remove("visitor"));
        match visitor.filter(|raw| !raw.trim().is_empty()) {
            Some(raw) => Ok(Self::Visitor(VisitorToken::presented(&raw))),
            None => Err(ApiError::NotAuthenticated),
        }
    }
}
