//! `GET`/`PUT`/`PATCH /api/profile/`: the owner's own profile. PUT is partial too, as the
//! guide says.

use axum::{
    extract::{FromRequestParts, State},
    http::request::Parts,
    Json,
};
use shared::{
    auth::OwnerAuth,
    http::{ApiError, DetailBody, JsonObject},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{profile_request::UpdateProfileRequest, user_body::OwnerUser};
use crate::{
    domain::{ProfileUpdate, User},
    state::AppState,
};

/// The registered owner named by the access token; SimpleJWT's `user_not_found` 401 when the
/// token is valid but the account is gone.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = OwnerAuth::from_request_parts(parts, state).await?;
        match state.store.find_user(auth.user_id).await? {
            Some(user) if user.is_registered => Ok(Self(user)),
            _ => Err(ApiError::UserNotFound),
        }
    }
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_profile, update_profile, partial_update_profile))
}

/// Get current user profile.
#[utoipa::path(
    get,
    path = "/api/profile/",
    tag = "accounts",
    security(("jwt" = [])),
    responses(
        (status = 200, body = OwnerUser),
        (status = 401, description = "Missing, invalid or expired access token", body = Object),
    )
)]
pub async fn get_profile(CurrentUser(user): CurrentUser) -> Json<OwnerUser> {
    Json(OwnerUser::from(&user))
}

async fn apply(
    state: &AppState,
    user: &User,
    body: &JsonObject,
) -> Result<Json<OwnerUser>, ApiError> {
    let update = ProfileUpdate::from(UpdateProfileRequest::parse(body)?);
    // Until this is dropped (after the commit, before the response) this replica may still
    // serve the old public profile.
    let _changing = state.public_profiles.changing(user.id);
    let updated = state.store.update_profile(user.id, &update).await?;
    tracing::info!(user.id = %user.id, "profile updated");
    Ok(Json(OwnerUser::from(&updated)))
}

/// Update current user profile (partial allowed).
#[utoipa::path(
    put,
    path = "/api/profile/",
    tag = "accounts",
    security(("jwt" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = OwnerUser),
        (status = 400, description = "Every failing field", body = Object),
        (status = 401, body = DetailBody),
    )
)]
pub async fn update_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: JsonObject,
) -> Result<Json<OwnerUser>, ApiError> {
    apply(&state, &user, &body).await
}

/// Partial update current user profile.
#[utoipa::path(
    patch,
    path = "/api/profile/",
    tag = "accounts",
    security(("jwt" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = OwnerUser),
        (status = 400, description = "Every failing field", body = Object),
        (status = 401, body = DetailBody),
    )
)]
pub async fn partial_update_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: JsonObject,
) -> Result<Json<OwnerUser>, ApiError> {
    apply(&state, &user, &body).await
}
