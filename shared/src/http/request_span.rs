//! Request spans and the middleware that logs a 5xx once, at the boundary.
//!
//! Spans carry the matched route, never the raw URI: query strings hold `?token=` and
//! `?visitor=` secrets.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Span;

use super::error::{ApiError, ServerErrorCause};

/// The `http.request` span for one request: method and matched route only.
pub fn make_request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let method = request.method().as_str();
    if route == "/healthz" || route == "/readyz" || route == "/metrics" {
        tracing::debug_span!("http.request", http.method = %method, http.route = %route, http.status_code = tracing::field::Empty)
    } else {
        tracing::info_span!("http.request", http.method = %method, http.route = %route, http.status_code = tracing::field::Empty)
    }
}

/// Logs each 5xx with its cause, records the status on the span, and counts the request.
pub async fn observe_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status();
    Span::current().record("http.status_code", status.as_u16());
    if status.is_server_error() {
        let cause = response
            .extensions()
            .get::<ServerErrorCause>()
            .map_or("no cause recorded", |c| c.0.as_str());
        tracing::error!(http.status_code = status.as_u16(), error.cause = %cause, "request failed");
    }
    crate::metrics::record_request(&method, &route, status, started.elapsed());
    response
}

/// Gives routing failures the guide's JSON bodies: axum's own 404 and 405 are empty.
pub async fn json_routing_errors(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = response.headers().get(header::ALLOW).cloned();
            let mut json = ApiError::MethodNotAllowed(method).into_response();
            if let Some(allow) = allow {
                json.headers_mut().insert(header::ALLOW, allow);
            }
            json
        }
        StatusCode::NOT_FOUND => ApiError::NotFound.into_response(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        _ => response,
    }
}
