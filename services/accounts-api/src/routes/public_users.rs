//! `GET /api/users/` and `GET /user/<user_id>/`: public profiles only. A hidden, unregistered,
//! unknown or malformed id is the same 404.

use axum::{extract::State, Json};
use shared::{
    http::{ApiError, DetailBody, Path},
    ids::UserId,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::user_body::PublicUser;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_public_users))
        .routes(routes!(get_public_user))
}

/// List public users.
#[utoipa::path(
    get,
    path = "/api/users/",
    tag = "accounts",
    responses((status = 200, body = Vec<PublicUser>))
)]
pub async fn list_public_users(
    State(state): State<AppState>,
) -> Result<Json<Vec<PublicUser>>, ApiError> {
    let users = state.store.list_public_users().await?;
    Ok(Json(users.iter().map(PublicUser::from).collect()))
}

/// Get public user profile by UUID.
#[utoipa::path(
    get,
    path = "/user/{user_id}/",
    tag = "accounts",
    params(("user_id" = String, Path, format = Uuid, description = "Sticker / user UUID")),
    responses(
        (status = 200, body = PublicUser),
        (status = 404, description = "Hidden, unregistered or unknown", body = DetailBody),
    )
)]
pub async fn get_public_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<Json<PublicUser>, ApiError> {
    match state.store.find_user(id).await? {
        Some(user) if user.is_publicly_visible() => Ok(Json(PublicUser::from(&user))),
        _ => Err(ApiError::NotFound),
    }
}
