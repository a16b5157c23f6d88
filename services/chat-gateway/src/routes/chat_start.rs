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
    domain::{NewRoom, RoomId, VisitorKey, VisitorMarks, VisitorName, VisitorToken},
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
    /// Optional: a random key the visitor's browser keeps (1 to 100 characters of
    /// `[A-Za-z0-9_-]`), so that a block by the owner also holds in this browser.
    visitor_key: Option<String>,
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

/// Why chat start refuses a visitor the owner blocked.
const VISITOR_BLOCKED: ApiError = ApiError::Refused {
    detail: "The owner has blocked this chat.",
    code: "visitor_blocked",
};

/// Why chat start refuses while the owner has paused the sticker.
const NOT_ACCEPTING: ApiError = ApiError::Refused {
    detail: "The owner is not accepting messages right now.",
    code: "not_accepting_messages",
};

/// A start-chat body, parsed.
struct StartChat {
    owner: UserId,
    name: VisitorName,
    key: Option<VisitorKey>,
}

fn parse(body: &JsonObject) -> Result<StartChat, FieldErrors> {
    let mut errors = FieldErrors::default();
    let owner = fields::required_uuid(body, "user_id", &mut errors);
    let name =
        match fields::optional_text(body, "visitor_name", VisitorName::MAX_CHARS, &mut errors) {
            fields::Field::Present(raw) => VisitorName::parse(&raw),
            fields::Field::Absent => Some(VisitorName::default()),
            fields::Field::Failed => None,
        };
    let key = match fields::optional_text(body, "visitor_key", VisitorKey::MAX_CHARS, &mut errors) {
        fields::Field::Present(raw) => match VisitorKey::parse(&raw) {
            Some(key) => Some(Some(key)),
            None => {
                errors.add("visitor_key", INVALID_VISITOR_KEY);
                None
            }
        },
        fields::Field::Absent => Some(None),
        fields::Field::Failed => None,
    };
    match (owner, name, key) {
        (Some(owner), Some(name), Some(key)) if errors.is_empty() => Ok(StartChat {
            owner: UserId::from(owner),
            name,
            key,
        }),
        _ => Err(errors),
    }
}

/// A `visitor_key` with other characters than `[A-Za-z0-9_-]`, or empty.
const INVALID_VISITOR_KEY: &str =
    "Enter a valid key of letters, digits, \"-\" and \"_\" (at most 100).";

/// Create a room for a visitor.
#[utoipa::path(
    post,
    path = "/api/chat/start/",
    tag = "chat",
    request_body = StartChatRequest,
    responses(
        (status = 201, body = StartChatResponse),
        (status = 400, description = "`{\"user_id\": [\"User not found.\"]}` and other field errors", body = Object),
        (status = 403, description = "`{\"detail\": \"The owner has blocked this chat.\", \"code\": \"visitor_blocked\"}` (this browser's `visitor_key` or this address was blocked by the owner) or `{\"detail\": \"The owner is not accepting messages right now.\", \"code\": \"not_accepting_messages\"}` (the owner paused the sticker)", body = Object),
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
    let StartChat {
        owner: owner_id,
        name: visitor_name,
        key,
    } = parse(&body)?;
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
    let visitor_marks = VisitorMarks::of(key.as_ref(), client, state.config.visitor_mark_key());
    let now = shared::time::now();
    if state
        .store
        .is_visitor_blocked(owner_id, &visitor_marks, now)
        .await?
    {
        return Err(VISITOR_BLOCKED);
    }
    if !state
        .store
        .owner_settings(owner_id)
        .await?
        .accepting_messages
    {
        return Err(NOT_ACCEPTING);
    }
    let token = VisitorToken::generate();
    let room = state
        .store
        .create_room(&NewRoom {
            id: RoomId::generate(),
            owner_id,
            visitor_name,
            visitor_token_hash: token.hash(),
            visitor_marks,
            created_at: now,
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
