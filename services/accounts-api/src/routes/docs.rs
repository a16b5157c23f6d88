//! `/api/schema/`, `/api/docs/` (Swagger UI) and `/api/redoc/` (Redoc): one OpenAPI document
//! for the whole API, served with vendored assets only (no CDN); and beside it `/api/asyncapi/`,
//! the AsyncAPI document of the room socket and the NATS events.
//!
//! The OpenAPI document is `docs/openapi.json`, generated from both services' route
//! definitions by `carinfo print-openapi`; the AsyncAPI document is `docs/asyncapi.yaml`,
//! written by hand. Tests fail when either drifts from the code.

use axum::{
    http::header::CONTENT_TYPE,
    response::{Html, IntoResponse},
    routing::get,
    Json, Router,
};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The merged document, as committed.
pub const OPENAPI_JSON: &str = include_str!("../../../../docs/openapi.json");
/// The AsyncAPI document, as committed.
pub const ASYNCAPI_YAML: &str = include_str!("../../../../docs/asyncapi.yaml");
const REDOC_JS: &[u8] = include_bytes!("../../assets/redoc.standalone.js");

const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CarInfo API — Redoc</title>
</head>
<body>
<redoc spec-url="/api/schema/"></redoc>
<script src="/api/redoc/redoc.standalone.js"></script>
</body>
</html>
"#;

/// The committed document, parsed.
pub fn merged_openapi() -> OpenApi {
    serde_json::from_str(OPENAPI_JSON).unwrap_or_default()
}

/// The documentation routes.
pub fn router() -> Router {
    let schema: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap_or_default();
    Router::new()
        .route(
            "/api/schema/",
            get(move || async move { Json(schema.clone()) }),
        )
        .route(
            "/api/asyncapi/",
            get(|| async { ([(CONTENT_TYPE, "application/yaml")], ASYNCAPI_YAML) }),
        )
        .route("/api/redoc/", get(|| async { Html(REDOC_PAGE) }))
        .route(
            "/api/redoc/redoc.standalone.js",
            get(|| async {
                ([("content-type", "application/javascript")], REDOC_JS).into_response()
            }),
        )
        .merge(SwaggerUi::new("/api/docs").url("/api/docs/openapi.json", merged_openapi()))
}
