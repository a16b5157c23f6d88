//! Path and query extractors whose rejections are the guide's bodies, never axum's plain text.
//!
//! A path parameter that does not parse (a malformed UUID, bytes that are not UTF-8) names no
//! resource: 404 `{"detail": "Not found."}`, as Django's typed URL patterns answer. A query
//! string that does not fit its struct is a 400 `{"detail": ...}`.

use std::str::FromStr;

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use super::ApiError;

/// One path parameter, parsed into `T` (`Path<RoomId>`, `Path<UserId>`).
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: FromStr + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        raw.parse().map(Self).map_err(|_| ApiError::NotFound)
    }
}

/// The query string, deserialised into `T` (unknown parameters are ignored).
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|_| ApiError::BadRequest("Malformed query string.".into()))
    }
}
