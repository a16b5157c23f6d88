//! The credentials of a history read: an owner's bearer token (checked) or a visitor's
//! `?visitor=` token, as a [`Participant`].

use std::collections::HashMap;

use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use shared::{
    auth::{extract::bearer_token, OwnerAuth},
    http::ApiError,
};

use crate::{
    domain::{Participant, VisitorToken},
    state::AppState,
};

/// Who is asking. No credentials at all is a 401; a bearer token that does not verify is the
/// guide's 401 for an invalid token.
pub struct Credentials(pub Participant);

impl FromRequestParts<AppState> for Credentials {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer_token(parts)?.is_some() {
            let owner = OwnerAuth::from_request_parts(parts, state).await?;
            return Ok(Self(Participant::Owner(owner.user_id)));
        }
        let visitor = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(mut q)| q.remove("visitor"));
        match visitor.filter(|raw| !raw.trim().is_empty()) {
            Some(raw) => Ok(Self(Participant::Visitor(VisitorToken::presented(&raw)))),
            None => Err(ApiError::NotAuthenticated),
        }
    }
}
