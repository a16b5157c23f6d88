//! `GET /api/users/` and `GET /user/<user_id>/`: public profiles only. A hidden, unregistered,
//! unknown or malformed id is the same 404. A public profile is rendered once and served from
//! [`crate::profile_cache`] while it is current, as the same bytes `Json` would write.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use shared::{
    http::{ApiError, DetailBody, Path},
    ids::UserId,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::user_body::PublicUser;
use crate::{
    profile_cache::{Found, PublicProfile},
    state::AppState,
};

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
) -> Result<Response, ApiError> {
    let load = || find_public_profile(&state, id);
    match state.public_profiles.get(id, load).await? {
        // The headers `Json` sets, on the body it would have written.
        PublicProfile::Shown(body) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response()),
        PublicProfile::NotFound => Err(ApiError::NotFound),
    }
}

/// What the database says about `id`, with a public profile rendered.
async fn find_public_profile(state: &AppState, id: UserId) -> Result<Found, ApiError> {
    let Some(user) = state.store.find_user(id).await? else {
        return Ok(Found::missing());
    };
    let profile = if user.is_publicly_visible() {
        let body = serde_json::to_vec(&PublicUser::from(&user))
            .map_err(|e| ApiError::Internal(e.into()))?;
        PublicProfile::Shown(Bytes::from(body))
    } else {
        PublicProfile::NotFound
    };
    Ok(Found::stored(user.version, profile))
}
