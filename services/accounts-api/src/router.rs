//! The accounts router: every module's routes merged, documented from the same definitions.

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{openapi::ApiDoc, routes, state::AppState};

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::register::routes())
        .merge(routes::login::routes())
        .merge(routes::token_refresh::routes())
        .merge(routes::token_blacklist::routes())
        .merge(routes::profile::routes())
        .merge(routes::public_users::routes())
        .merge(routes::stickers::routes())
}

/// The API and documentation routes, with state. Operational routes and layers are added by
/// whoever serves it (the service's own binary or the standalone bundle).
pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    api.with_state(state).merge(routes::docs::router())
}

/// This service's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}
