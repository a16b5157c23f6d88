//! `POST /api/chat/start/`: a visitor opens a room with a registered owner. Works while
//! accounts-api is down: owners come from the local projection.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use serde::{Deserialize, Serialize};
use shared::{
    http::{fields, ApiError, ClientKey, DetailBody, FieldErrors, JsonObject, PeerAddr},
    ids::UserId,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    domain::{NewRoom, RoomId, VisitorName, VisitorToken},
    state::AppState,
};

/// Start-chat body.
#[derive(Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct StartChatRequest {
    /// The owner's (sticker's) UUID.
    user_id: uuid::Uuid,
    /// Optional, at most 100 characters.
    visitor_name: Option<String>,
}

/// Start-chat response: exactly these three fields.
#[derive(Serialize, ToSchema)]
pub struct StartChatResponse {
    /// The new room.
    #[schema(format = Uuid)]
    pub room_id: String,
    /// The visitor's credential for this room; shown once.
    pub visitor_token: String,
    /// `/ws/chat/<room_id>/`.
    pub ws_path: String,
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start_chat))
}

fn parse(body: &JsonObject) -> Result<(UserId, VisitorName), FieldErrors> {
    let mut errors = FieldErrors::default();
    let owner = fields::required_uuid(body, "user_id", &mut errors);
    let name =
        match fields::optional_text(body, "visitor_name", VisitorName::MAX_CHARS, &mut errors) {
            fields::Field::Present(raw) => VisitorName::parse(&raw),
            fields::Field::Absent => Some(VisitorName::default()),
            fields::Field::Failed => None,
        };
    match (owner, name) {
        (Some(owner), Some(name)) if errors.is_empty() => Ok((UserId::from(owner), name)),
        _ => Err(errors),
    }
}

/// Create a room for a visitor.
#[utoipa::path(
    post,
    path = "/api/chat/start/",
    tag = "chat",
    request_body = StartChatRequest,
    responses(
        (status = 201, body = StartChatResponse),
        (status = 400, description = "`{\"user_id\": [\"User not found.\"]}` and other field errors", body = Object),
        (status = 429, description = "Too many rooms from this address, in all or with this owner; see Retry-After", body = DetailBody),
    )
)]
pub async fn start_chat(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<(StatusCode, Json<StartChatResponse>), ApiError> {
    let client = ClientKey::of(&headers, peer, state.config.common.trust_forwarded_for);
    state.limits.chat_start(client)?;
    let (owner_id, visitor_name) = parse(&body)?;
    match state.store.find_owner(owner_id).await? {
        Some(owner) if owner.is_registered => {}
        _ => {
            return Err(ApiError::Validation(FieldErrors::single(
                "user_id",
                "User not found.",
            )))
        }
    }
    state.limits.chat_start_with_owner(client, owner_id)?;
    let token = VisitorToken::generate();
    let room = state
        .store
        .create_room(&NewRoom {
            id: RoomId::generate(),
            owner_id,
            visitor_name,
            visitor_token_hash: token.hash(),
            created_at: shared::time::now(),
        })
        .await?;
    tracing::info!(room.id = %room.id, user.id = %owner_id, "room created");
    state.fanout.room_changed(&room).await;
    Ok((
        StatusCode::CREATED,
        Json(StartChatResponse {
            room_id: room.id.to_string(),
            visitor_token: token.reveal().to_owned(),
            ws_path: format!("/ws/chat/{}/", room.id),
        }),
    ))
}
