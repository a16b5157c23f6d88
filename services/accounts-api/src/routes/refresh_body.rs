//! The body both refresh-token endpoints read, `{"refresh": "<token>"}`, and SimpleJWT's 401
//! details for a refused refresh token. Shared by [`super::token_refresh`] and
//! [`super::token_blacklist`]; it reads and verifies, it never touches the blacklist.

use shared::{
    auth::{TokenError, TokenType, TokenVerifier},
    http::{fields, ApiError, FieldErrors, JsonObject},
};
use utoipa::ToSchema;

use crate::domain::RefreshToken;

/// `{"refresh": "<refresh token>"}`.
#[derive(ToSchema)]
pub struct RefreshRequest {
    pub refresh: String,
}

impl RefreshRequest {
    /// 400 when `refresh` is missing or not a string.
    pub fn parse(body: &JsonObject) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        match fields::require(
            fields::string(body, "refresh", &mut errors),
            "refresh",
            &mut errors,
        ) {
            Some(refresh) => Ok(Self { refresh }),
            None => Err(errors),
        }
    }
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
    let RefreshRequest { refresh } = RefreshRequest::parse(body)?;
    let claims = verifier
        .verify(&refresh, TokenType::Refresh)
        .map_err(refused)?;
    RefreshToken::from_claims(claims).map_err(refused)
}
