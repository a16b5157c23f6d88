//! `POST /api/token/blacklist/`: logout, as SimpleJWT's `TokenBlacklistView` does it. The
//! refresh token is blacklisted and its family revoked, so neither it nor any token rotated
//! from the same login refreshes again. Access tokens already issued live out their short
//! lifetime: they are checked without the database, on both services.

use axum::{extract::State, Json};
use serde::Serialize;
use shared::http::{ApiError, JsonObject};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::refresh_body::{read_refresh_token, RefreshRequest};
use crate::{sessions, state::AppState};

/// SimpleJWT's answer to a logout: an empty object.
#[derive(Serialize, ToSchema)]
pub struct BlacklistResponse {}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(blacklist_token))
}

/// Log out: blacklist a refresh token (and every token rotated from the same login).
#[utoipa::path(
    post,
    path = "/api/token/blacklist/",
    tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "`{}`", body = BlacklistResponse),
        (status = 400, description = "`{\"refresh\": [\"This field is required.\"]}`", body = Object),
        (status = 401, description = "`{\"detail\": \"Token is invalid\", \"code\": \"token_not_valid\"}`; `detail` may also be `Token is expired`, `Token has wrong type` or `Token is blacklisted` (already logged out)", body = Object),
    )
)]
pub async fn blacklist_token(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<Json<BlacklistResponse>, ApiError> {
    let token = read_refresh_token(&state.verifier, &body)?;
    sessions::log_out(&state, &token).await?;
    Ok(Json(BlacklistResponse {}))
}
