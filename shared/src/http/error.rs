//! `ApiError`: the one place that knows the DRF / SimpleJWT body shapes the clients were
//! written against. Handlers return it; nothing else renders an error body.
//!
//! `IntoResponse` never logs. A 5xx carries its cause in a response extension and the
//! `log_server_errors` middleware logs it once.

use std::sync::Arc;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::field_errors::FieldErrors;
use crate::auth::TokenError;

/// `{"detail": "..."}`: the body of most non-validation errors.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailBody {
    /// Human-readable reason, DRF wording.
    pub detail: String,
}

/// SimpleJWT's body for a refused token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenErrorBody {
    /// `Given token not valid for any token type` on protected endpoints, the reason on refresh.
    pub detail: String,
    /// Always `token_not_valid`.
    pub code: String,
    /// Per token class, on protected endpoints only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<serde_json::Value>>,
}

/// The cause of a 5xx, kept for the logging middleware and never sent to the client.
#[derive(Debug, Clone)]
pub struct ServerErrorCause(pub Arc<String>);

/// Every outcome a handler can fail with, named for what the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with every failing field.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// 400 with a detail, e.g. `JSON parse error - ...`.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no credentials at all.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// 401 with a plain detail, e.g. a failed login.
    #[error("authentication failed")]
    AuthenticationFailed(&'static str),
    /// 401: `Authorization` header that is not `Bearer <token>`.
    #[error("bad authorization header")]
    BadAuthorizationHeader,
    /// 401: a refused access token on a protected endpoint.
    #[error("access token not valid")]
    AccessTokenNotValid(TokenError),
    /// 401: a refused refresh token on `/api/token/refresh/`.
    #[error("refresh token not valid")]
    RefreshTokenNotValid(&'static str),
    /// 401: a valid token whose user no longer exists.
    #[error("user of the token not found")]
    UserNotFound,
    /// 403.
    #[error("permission denied")]
    PermissionDenied,
    /// 403 with its own reason and a machine-readable `code`, where the client shows each
    /// reason differently (e.g. a paused owner, a blocked visitor).
    #[error("refused: {code}")]
    Refused {
        /// What the client shows.
        detail: &'static str,
        /// What the client tells apart.
        code: &'static str,
    },
    /// 409: the request contradicts the resource's state.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// 403 with its own reason, where the client can act on it (e.g. an expired chat).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404.
    #[error("not found")]
    NotFound,
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed(String),
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 429 with `Retry-After`.
    #[error("throttled")]
    Throttled {
        /// Seconds until a retry can succeed.
        wait_secs: u64,
    },
    /// 429 for a bound on what one client may hold (sockets, rooms), with its reason; waiting
    /// does not help until the client lets go of something, so there is no `Retry-After`.
    #[error("limit reached: {0}")]
    LimitReached(&'static str),
    /// 503 with a body: a backend is down. Nothing accepted so far is lost.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `WWW-Authenticate` as DRF's `JWTAuthentication.authenticate_header` sends it.
const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";

impl ApiError {
    /// The status code, in one place.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotAuthenticated
            | Self::AuthenticationFailed(_)
            | Self::BadAuthorizationHeader
            | Self::AccessTokenNotValid(_)
            | Self::RefreshTokenNotValid(_)
            | Self::UserNotFound => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied | Self::Forbidden(_) | Self::Refused { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Throttled { .. } | Self::LimitReached(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> serde_json::Value {
        match self {
            Self::Validation(errors) => json!(errors),
            Self::BadRequest(detail) => json!({ "detail": detail }),
            Self::NotAuthenticated => {
                json!({ "detail": "Authentication credentials were not provided." })
            }
            Self::AuthenticationFailed(detail) => json!({ "detail": detail }),
            Self::BadAuthorizationHeader => json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }),
            Self::AccessTokenNotValid(reason) => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": reason.to_string(),
                }],
            }),
            Self::RefreshTokenNotValid(detail) => {
                json!({ "detail": detail, "code": "token_not_valid" })
            }
            Self::UserNotFound => json!({ "detail": "User not found", "code": "user_not_found" }),
            Self::PermissionDenied => {
                json!({ "detail": "You do not have permission to perform this action." })
            }
            Self::Forbidden(detail) => json!({ "detail": detail }),
            Self::Refused { detail, code } => json!({ "detail": detail, "code": code }),
            Self::Conflict(detail) => json!({ "detail": detail }),
            Self::NotFound => json!({ "detail": "Not found." }),
            Self::MethodNotAllowed(method) => {
                json!({ "detail": format!("Method \"{method}\" not allowed.") })
            }
            Self::PayloadTooLarge => json!({ "detail": "Request body is too large." }),
            Self::UnsupportedMediaType(media) => {
                json!({ "detail": format!("Unsupported media type \"{media}\" in request.") })
            }
            Self::Throttled { wait_secs } => json!({
                "detail": format!("Request was throttled. Expected available in {wait_secs} seconds.")
            }),
            Self::LimitReached(detail) => json!({ "detail": detail }),
            Self::Unavailable(_) => json!({
                "detail": "Service temporarily unavailable, try again later.",
                "code": "service_unavailable",
            }),
            Self::Internal(_) => json!({ "detail": "A server error occurred." }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE),
            );
        }
        match &self {
            Self::Throttled { wait_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*wait_secs));
            }
            Self::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            }
            _ => {}
        }
        if status.is_server_error() {
            let cause = match &self {
                Self::Internal(e) => format!("{e:#}"),
                other => other.to_string(),
            };
            response
                .extensions_mut()
                .insert(ServerErrorCause(Arc::new(cause)));
        }
        response
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}
