//! `POST /api/token/refresh/`, as SimpleJWT does it: `{"access"}` by default, the old refresh
//! token stays valid; with rotation on, a new `"refresh"` is returned and reuse is refused.

use axum::{extract::State, Json};
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{TokenError, TokenType},
    http::{fields, ApiError, FieldErrors, JsonObject},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;

/// Refresh body.
#[derive(Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct RefreshRequest {
    refresh: String,
}

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

fn refused(error: TokenError) -> ApiError {
    ApiError::RefreshTokenNotValid(match error {
        TokenError::Invalid => "Token is invalid",
        TokenError::Expired => "Token is expired",
        TokenError::WrongType => "Token has wrong type",
    })
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
        (status = 401, description = "`{\"detail\": \"Token is invalid\", \"code\": \"token_not_valid\"}`", body = Object),
    )
)]
pub async fn refresh_token(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<Json<RefreshResponse>, ApiError> {
    let mut errors = FieldErrors::default();
    let token = fields::require(
        fields::string(&body, "refresh", &mut errors),
        "refresh",
        &mut errors,
    )
    .ok_or(ApiError::Validation(errors))?;
    let claims = state
        .verifier
        .verify(&token, TokenType::Refresh)
        .map_err(refused)?;
    let user_id = claims
        .user_id
        .parse()
        .map_err(|_| refused(TokenError::Invalid))?;
    let config = &state.config;
    let refresh = if config.rotate_refresh_tokens {
        let expires_at = Utc
            .timestamp_opt(claims.exp, 0)
            .single()
            .unwrap_or_else(Utc::now);
        if !state
            .store
            .use_refresh_token(&claims.jti, expires_at)
            .await?
        {
            return Err(ApiError::RefreshTokenNotValid("Token is blacklisted"));
        }
        Some(
            state
                .signer
                .sign(
                    user_id,
                    TokenType::Refresh,
                    config.refresh_token_lifetime_secs,
                )
                .map_err(anyhow::Error::from)?,
        )
    } else {
        None
    };
    let access = state
        .signer
        .sign(
            user_id,
            TokenType::Access,
            config.access_token_lifetime_secs,
        )
        .map_err(anyhow::Error::from)?;
    Ok(Json(RefreshResponse { access, refresh }))
}
