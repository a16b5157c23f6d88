//! The chat router: REST routes and the WebSocket, documented from the same definitions.

use axum::{routing::get, Router};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    openapi::ApiDoc,
    routes,
    state::AppState,
    ws::{owner_channel, upgrade},
};

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::chat_start::routes())
        .merge(routes::rooms::routes())
        .merge(routes::room_controls::routes())
        .merge(routes::settings::routes())
        .merge(routes::messages::routes())
        .routes(routes!(upgrade::chat_socket))
        .routes(routes!(owner_channel::owner_socket))
}

/// The API and WebSocket routes, with state. `/back/ws/chat/<id>/` is the same socket for
/// proxies that keep the `/back` prefix (the guide names both forms); `/back/ws/owner/` likewise.
pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    api.route("/back/ws/chat/{room_id}/", get(upgrade::chat_socket))
        .route("/back/ws/owner/", get(owner_channel::owner_socket))
        .with_state(state)
}

/// This service's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}
