//! `GET /api/stickers/<id>/`: whether a scanned sticker is activated, so the sticker's landing
//! page can show the activation form or the owner's card. Reveals nothing about the owner.

use axum::{extract::State, Json};
use serde::Serialize;
use shared::{
    http::{ApiError, DetailBody, Path},
    ids::UserId,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// A sticker's state.
#[derive(Serialize, ToSchema)]
pub struct StickerStatus {
    /// The sticker UUID.
    #[schema(format = Uuid)]
    pub id: String,
    /// Whether an owner has activated it.
    pub is_registered: bool,
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sticker))
}

/// Sticker state (added beyond the guide, for the sticker landing page).
#[utoipa::path(
    get,
    path = "/api/stickers/{user_id}/",
    tag = "accounts",
    params(("user_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = StickerStatus),
        (status = 404, description = "Unknown or malformed sticker id", body = DetailBody),
    )
)]
pub async fn get_sticker(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<Json<StickerStatus>, ApiError> {
    let user = state.store.find_user(id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(StickerStatus {
        id: user.id.to_string(),
        is_registered: user.is_registered,
    }))
}
