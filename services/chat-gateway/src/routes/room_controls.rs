//! `POST /api/chat/rooms/<room_id>/close/` and `.../reopen/`, `POST` and `DELETE
//! .../block/`: the owner ends, reopens, or refuses a conversation. A closed room refuses the
//! visitor's messages and keeps its history; a block closes it and keeps the visitor's browser
//! and address from opening a new room with the owner for `VISITOR_BLOCK_DAYS`. Each answers
//! the room as the owner's list shows it, and both sides' live channels are told.

use axum::{extract::State, Json};
use shared::{
    auth::OwnerAuth,
    http::{ApiError, DetailBody, Path},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rooms::RoomSummary;
use crate::{
    domain::{RoomControl, RoomId},
    state::AppState,
    store::StoreError,
};

/// Why a blocked room is not reopened.
const BLOCKED: &str = "This chat is blocked; unblock it to reopen it.";

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(close_room))
        .routes(routes!(reopen_room))
        .routes(routes!(block_room, unblock_room))
}

async fn apply(
    state: &AppState,
    owner: &OwnerAuth,
    room: RoomId,
    control: RoomControl,
) -> Result<Json<RoomSummary>, ApiError> {
    let access = state
        .store
        .find_room_access(room)
        .await?
        .ok_or(ApiError::NotFound)?;
    if access.owner_id != owner.user_id {
        return Err(ApiError::PermissionDenied);
    }
    state.limits.owner_action(owner.user_id)?;
    let until = shared::time::now() + state.config.visitor_block();
    let changed = match state.store.control_room(room, control, until).await {
        Err(StoreError::Conflict) => return Err(ApiError::Conflict(BLOCKED)),
        other => other?,
    };
    tracing::info!(room.id = %room, control = ?control, "room controlled by its owner");
    state.fanout.room_state(&changed).await;
    Ok(Json(RoomSummary::from(changed)))
}

/// Close a room: the visitor's messages are refused from now on.
#[utoipa::path(
    post,
    path = "/api/chat/rooms/{room_id}/close/",
    tag = "chat",
    security(("jwt" = [])),
    params(("room_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = RoomSummary),
        (status = 401, body = DetailBody),
        (status = 403, description = "Another owner's room", body = DetailBody),
        (status = 404, body = DetailBody),
        (status = 429, description = "Over `OWNER_ACTIONS_PER_MINUTE`; see Retry-After", body = DetailBody),
    )
)]
pub async fn close_room(
    State(state): State<AppState>,
    owner: OwnerAuth,
    Path(room): Path<RoomId>,
) -> Result<Json<RoomSummary>, ApiError> {
    apply(&state, &owner, room, RoomControl::Close).await
}

/// Reopen a closed room.
#[utoipa::path(
    post,
    path = "/api/chat/rooms/{room_id}/reopen/",
    tag = "chat",
    security(("jwt" = [])),
    params(("room_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = RoomSummary),
        (status = 401, body = DetailBody),
        (status = 403, description = "Another owner's room", body = DetailBody),
        (status = 404, body = DetailBody),
        (status = 409, description = "`{\"detail\": \"This chat is blocked; unblock it to reopen it.\"}`", body = DetailBody),
        (status = 429, description = "Over `OWNER_ACTIONS_PER_MINUTE`; see Retry-After", body = DetailBody),
    )
)]
pub async fn reopen_room(
    State(state): State<AppState>,
    owner: OwnerAuth,
    Path(room): Path<RoomId>,
) -> Result<Json<RoomSummary>, ApiError> {
    apply(&state, &owner, room, RoomControl::Reopen).await
}

/// Block a room's visitor: the room closes, and the visitor's browser (`visitor_key`) and
/// address cannot open a new room with this owner for `VISITOR_BLOCK_DAYS`.
#[utoipa::path(
    post,
    path = "/api/chat/rooms/{room_id}/block/",
    tag = "chat",
    security(("jwt" = [])),
    params(("room_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = RoomSummary),
        (status = 401, body = DetailBody),
        (status = 403, description = "Another owner's room", body = DetailBody),
        (status = 404, body = DetailBody),
        (status = 429, description = "Over `OWNER_ACTIONS_PER_MINUTE`; see Retry-After", body = DetailBody),
    )
)]
pub async fn block_room(
    State(state): State<AppState>,
    owner: OwnerAuth,
    Path(room): Path<RoomId>,
) -> Result<Json<RoomSummary>, ApiError> {
    apply(&state, &owner, room, RoomControl::Block).await
}

/// Lift a block: the visitor may open rooms again, and this room reopens.
#[utoipa::path(
    delete,
    path = "/api/chat/rooms/{room_id}/block/",
    tag = "chat",
    security(("jwt" = [])),
    params(("room_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = RoomSummary),
        (status = 401, body = DetailBody),
        (status = 403, description = "Another owner's room", body = DetailBody),
        (status = 404, body = DetailBody),
        (status = 429, description = "Over `OWNER_ACTIONS_PER_MINUTE`; see Retry-After", body = DetailBody),
    )
)]
pub async fn unblock_room(
    State(state): State<AppState>,
    owner: OwnerAuth,
    Path(room): Path<RoomId>,
) -> Result<Json<RoomSummary>, ApiError> {
    apply(&state, &owner, room, RoomControl::Unblock).await
}
