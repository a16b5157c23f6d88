//! `OwnerAuth`: the owner named by a valid `Authorization: Bearer <access token>`, with
//! SimpleJWT's 401 bodies for every way that can fail.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};

use super::key_ring::TokenVerifier;
use crate::{http::ApiError, ids::UserId};

/// An authenticated owner.
#[derive(Debug, Clone, Copy)]
pub struct OwnerAuth {
    /// The owner's id from the token's `user_id` claim.
    pub user_id: UserId,
}

/// Reads the bearer token: `Ok(None)` when no `Bearer` credentials were sent at all.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::BadAuthorizationHeader)?;
    let mut words = value.split_whitespace();
    // SimpleJWT ignores headers of other schemes (e.g. Basic): no credentials, not an error.
    if words.next() != Some("Bearer") {
        return Ok(None);
    }
    match (words.next(), words.next()) {
        (Some(token), None) => Ok(Some(token)),
        _ => Err(ApiError::BadAuthorizationHeader),
    }
}

impl<S> FromRequestParts<S> for OwnerAuth
where
    S: Send + Sync,
    TokenVerifier: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?.ok_or(ApiError::NotAuthenticated)?;
        let verifier = TokenVerifier::from_ref(state);
        let user_id = verifier
            .verify_access(token)
            .map_err(ApiError::AccessTokenNotValid)?;
        Ok(Self { user_id })
    }
}
