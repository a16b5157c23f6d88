//! `POST /api/token/refresh/`, as SimpleJWT does it: `{"access"}` by default, the old refresh
//! token stays valid until it expires or is blacklisted (logout); with rotation on, a new
//! `"refresh"` of the same family is returned, and presenting a used token again revokes the
//! whole family (reuse detection).

use axum::{extract::State, Json};
use serde::Serialize;
use shared::{
    auth::TokenType,
    http::{ApiError, JsonObject},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::refresh_body::{read_refresh_token, RefreshRequest, BLACKLISTED};
use crate::app::AppState;

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
    let config = &state.config;
    let refresh = if config.rotate_refresh_tokens {
        let family_expires_at = token.family_expires_at(config.refresh_token_lifetime_secs);
        if !state
            .store
            .use_refresh_token(&token, family_expires_at)
            .await?
        {
            return Err(ApiError::RefreshTokenNotValid(BLACKLISTED));
        }
        let signed = state.signer.sign_in_family(
            token.user_id,
            TokenType::Refresh,
            config.refresh_token_lifetime_secs,
            Some(&token.family),
        );
        Some(signed.map_err(anyhow::Error::from)?)
    } else {
        if state.store.is_refresh_token_blacklisted(&token).await? {
            return Err(ApiError::RefreshTokenNotValid(BLACKLISTED));
        }
        None
    };
    let access = state
        .signer
        .sign(
            token.user_id,
            TokenType::Access,
            config.access_token_lifetime_secs,
        )
        .map_err(anyhow::Error::from)?;
    Ok(Json(RefreshResponse { access, refresh }))
}
