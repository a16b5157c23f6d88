//! The reference web client, embedded in the binary: the sticker landing page at `/u/<id>`,
//! the owner's inbox at `/app/`, and their assets under `/static/`. The same files are served
//! by nginx in the cluster topology (`deploy/web/`).

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use rust_embed::RustEmbed;
use shared::http::ApiError;

#[derive(RustEmbed)]
#[folder = "../../deploy/web/"]
#[exclude = "e2e/*"]
struct WebAssets;

fn serve(path: &str) -> Response {
    match WebAssets::get(path) {
        Some(file) => {
            let mime = match path.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js") | Some("mjs") => "application/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                file.data,
            )
                .into_response()
        }
        None => ApiError::NotFound.into_response(),
    }
}

/// Routes for the web client.
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app/") }))
        .route("/app", get(|| async { Redirect::to("/app/") }))
        .route("/app/", get(|| async { serve("app.html") }))
        .route(
            "/u/{id}",
            get(|Path(_id): Path<String>| async { serve("visitor.html") }),
        )
        .route(
            "/u/{id}/",
            get(|Path(_id): Path<String>| async { serve("visitor.html") }),
        )
        .route(
            "/static/{*path}",
            get(|Path(path): Path<String>| async move { serve(&format!("static/{path}")) }),
        )
}
