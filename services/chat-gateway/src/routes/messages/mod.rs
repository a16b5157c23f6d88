//! `GET /api/chat/rooms/<room_id>/messages/`: a room's history, oldest first, for its owner
//! (JWT) or its visitor (`?visitor=`). `after` and `limit` page through long rooms; without
//! them the whole history comes back, as plain clients expect.

mod page;
mod stream;

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use shared::http::{ApiError, DetailBody, Path, Query};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use self::page::MAX_PAGE;
use self::page::{next_link, Page, PageQuery};
use super::credentials::Credentials;
use crate::{
    domain::{Message, Refusal, RoomId, SenderType},
    state::AppState,
};

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
    // Credentials first: a request without any is a 401 whatever its path.
    Credentials(participant): Credentials,
    Path(room): Path<RoomId>,
    Query(page): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let page = Page::try_from(page).map_err(ApiError::Validation)?;
    let access = state
        .store
        .find_room_access(room)
        .await?
        .ok_or(ApiError::NotFound)?;
    let side = access
        .admit(
            &participant,
            shared::time::now(),
            state.config.visitor_token_idle(),
        )
        .map_err(|refusal| match refusal {
            Refusal::NotAParticipant => ApiError::PermissionDenied,
            Refusal::VisitorTokenExpired => ApiError::Forbidden(CHAT_EXPIRED),
        })?;
    if side == SenderType::Owner {
        state.store.mark_read_by_owner(room).await?;
    }
    let Some(limit) = page.limit else {
        // The first chunk is read before the status is sent, so an outage is still a 503.
        let first = state
            .store
            .list_messages(room, page.after, Some(stream::CHUNK))
            .await?;
        return Ok(stream::stream_history(state.store.clone(), room, first));
    };
    let messages = state
        .store
        .list_messages(room, page.after, Some(limit))
        .await?;
    let body: Vec<HistoryMessage> = messages.iter().map(HistoryMessage::from).collect();
    let mut response = Json(body).into_response();
    if let Some(last) = messages.last().filter(|_| messages.len() as i64 == limit) {
        if let Ok(link) = HeaderValue::from_str(&next_link(room, last.id, limit)) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}
