//! The body both refresh-token endpoints read, `{"refresh": "<token>"}`, and SimpleJWT's 401
//! details for a refused refresh token. Shared by [`super::token_refresh`] and
//! [`super::token_blacklist`]; it reads and verifies, it never touches the blacklist.

use serde::Deserialize;
use shared::{
    auth::{TokenError, TokenType, TokenVerifier},
    http::{fields, ApiError, FieldErrors, JsonObject},
};
use utoipa::ToSchema;

use crate::domain::RefreshToken;

/// `{"refresh": "<refresh token>"}`.
#[derive(Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct RefreshRequest {
    refresh: String,
}

/// SimpleJWT's `{"detail", "code": "token_not_valid"}` for a refused refresh token.
pub fn refused(error: TokenError) -> ApiError {
    ApiError::RefreshTokenNotValid(match error {
        TokenError::Invalid => "Token is invalid",
        TokenError::Expired => "Token is expired",
        TokenError::WrongType => "Token has wrong type",
    })
}

/// The verified refresh token of the body: 400 when `refresh` is missing or not a string,
/// 401 when the token is refused, in SimpleJWT's order (signature, expiry, type).
pub fn read_refresh_token(
    verifier: &TokenVerifier,
    body: &JsonObject,
) -> Result<RefreshToken, ApiError> {
    let mut errors = FieldErrors::default();
    let token = fields::require(
        fields::string(body, "refresh", &mut errors),
        "refresh",
        &mut errors,
    )
    .ok_or(ApiError::Validation(errors))?;
    let claims = verifier
        .verify(&token, TokenType::Refresh)
        .map_err(refused)?;
    RefreshToken::from_claims(claims).map_err(refused)
}
