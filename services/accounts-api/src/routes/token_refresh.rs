//! `POST /api/token/refresh/`, as SimpleJWT does it: `{"access"}` by default, the old refresh
//! token stays valid until it expires or is blacklisted (logout); with rotation on, a new
//! `"refresh"` of the same family is returned, and presenting a used token again revokes the
//! whole family (reuse detection).

use axum::{extract::State, Json};
use serde::Serialize;
use shared::http::{ApiError, JsonObject};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::refresh_body::{read_refresh_token, RefreshRequest};
use crate::{sessions, state::AppState};

/// Refresh response.
#[derive(Serialize, ToSchema)]
pub struct RefreshResponse {
    /// New access token.
    pub access: String,
    /// New refresh token, only when rotation is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refresh_token))
}

/// Refresh JWT access token.
#[utoipa::path(
    post,
    path = "/api/token/refresh/",
    tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = RefreshResponse),
        (status = 400, description = "`{\"refresh\": [\"This field is required.\"]}`", body = Object),
        (status = 401, description = "`{\"detail\": \"Token is invalid\", \"code\": \"token_not_valid\"}`; `detail` may also be `Token is expired`, `Token has wrong type` or `Token is blacklisted` (logged out, used before under rotation, or of a family revoked by reuse)", body = Object),
    )
)]
pub async fn refresh_token(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<Json<RefreshResponse>, ApiError> {
    let token = read_refresh_token(&state.verifier, &body)?;
    let tokens = sessions::refresh(&state, &token).await?;
    Ok(Json(RefreshResponse {
        access: tokens.access,
        refresh: tokens.refresh,
    }))
}
