//! `GET /api/chat/rooms/`: the owner's rooms, most recent activity first. Owners poll it every
//! few seconds, so it is one indexed query and answers `304 Not Modified` to a matching
//! `If-None-Match`.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared::{
    auth::OwnerAuth,
    http::{ApiError, DetailBody},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::messages::HistoryMessage;
use crate::{domain::Room, state::AppState};

/// A room in the owner's list: the guide's fields, plus `last_message`, `unread_count`,
/// `visitor_last_read_id` and `is_blocked`.
#[derive(Serialize, ToSchema)]
pub struct RoomSummary {
    /// Room id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The owner.
    #[schema(format = Uuid)]
    pub owner_id: String,
    /// What the visitor called themselves ("" when not given).
    pub visitor_name: String,
    /// Open for the visitor's messages (`false` once the owner closed or blocked the room).
    pub is_active: bool,
    /// The owner blocked this room's visitor.
    pub is_blocked: bool,
    /// Created.
    pub created_at: String,
    /// Last activity; moves with every message.
    pub updated_at: String,
    /// The newest message (content truncated to 120 characters), or null.
    pub last_message: Option<HistoryMessage>,
    /// Visitor messages since the owner last read the room.
    pub unread_count: i64,
    /// The last message the visitor has read (a `carinfo.v2` socket's read frame), or null.
    #[schema(format = Uuid)]
    pub visitor_last_read_id: Option<String>,
}

impl From<Room> for RoomSummary {
    fn from(room: Room) -> Self {
        Self {
            id: room.id.to_string(),
            owner_id: room.owner_id.to_string(),
            visitor_name: room.visitor_name,
            is_active: room.is_active,
            is_blocked: room.is_blocked,
            created_at: shared::time::format(&room.created_at),
            updated_at: shared::time::format(&room.updated_at),
            last_message: room.last_message.as_ref().map(HistoryMessage::from),
            unread_count: room.unread_count,
            visitor_last_read_id: room.visitor_last_read_id.map(|id| id.to_string()),
        }
    }
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_rooms))
}

/// List rooms for the owner.
#[utoipa::path(
    get,
    path = "/api/chat/rooms/",
    tag = "chat",
    security(("jwt" = [])),
    responses(
        (status = 200, body = Vec<RoomSummary>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 401, body = DetailBody),
    )
)]
pub async fn list_rooms(
    State(state): State<AppState>,
    owner: OwnerAuth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rooms = state.store.list_rooms_for_owner(owner.user_id).await?;
    let body: Vec<RoomSummary> = rooms.into_iter().map(RoomSummary::from).collect();
    let json = serde_json::to_vec(&body).map_err(anyhow::Error::from)?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&json)[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        });
    let etag_header = HeaderValue::from_str(&etag).map_err(anyhow::Error::from)?;
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response());
    }
    Ok((
        [
            (header::ETAG, etag_header),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        json,
    )
        .into_response())
}
