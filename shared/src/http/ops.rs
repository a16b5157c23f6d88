//! Operational endpoints every process serves: `/healthz` (alive), `/readyz` (backends
//! reachable) and `/metrics` (Prometheus).

use std::sync::Arc;

use async_trait::async_trait;
use axum::{http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use serde_json::json;

/// Something whose backends can be checked.
#[async_trait]
pub trait Readiness: Send + Sync + 'static {
    /// `Err(reason)` names the backend that is down.
    async fn check(&self) -> Result<(), String>;
}

/// `/healthz` alone: says the process is alive and nothing else, so it can face the public.
pub fn liveness_router() -> Router {
    Router::new().route(
        "/healthz",
        get(|| async { Json(json!({ "status": "ok" })) }),
    )
}

/// `/healthz`, `/readyz`, `/metrics`: for the orchestrator and the scraper, not the public
/// (readiness names the backend that is down; metrics describe the traffic).
pub fn router(readiness: Vec<Arc<dyn Readiness>>) -> Router {
    // Install the recorder now, so nothing counted before the first scrape is lost.
    let _ = crate::metrics::handle();
    let readiness = Arc::new(readiness);
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    for check in readiness.iter() {
                        if let Err(reason) = check.check().await {
                            return (
                                StatusCode::SERVICE_UNAVAILABLE,
                                Json(json!({ "status": "unavailable", "reason": reason })),
                            )
                                .into_response();
                        }
                    }
                    Json(json!({ "status": "ready" })).into_response()
                }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    crate::metrics::render(),
                )
            }),
        )
}
