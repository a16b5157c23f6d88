//! The notifier router: its routes, documented from the same definitions.

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{openapi::ApiDoc, routes, state::AppState};

/// Bytes a request body may have: a subscription is well under one kilobyte.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::vapid_key::routes())
        .merge(routes::subscriptions::routes())
}

/// The API routes, with state.
pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    api.layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(state)
}

/// This service's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}
