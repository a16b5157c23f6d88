//! `GET /api/push/vapid-key/`: the application server key a browser subscribes with
//! (`pushManager.subscribe({applicationServerKey})`). Public: it is a public key.

use axum::{extract::State, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// The VAPID public key.
#[derive(Serialize, ToSchema)]
pub struct VapidKeyResponse {
    /// base64url (no padding) of the uncompressed P-256 public key, 65 bytes.
    pub public_key: String,
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_vapid_key))
}

/// Get the VAPID public key.
#[utoipa::path(
    get,
    path = "/api/push/vapid-key/",
    tag = "push",
    responses((status = 200, body = VapidKeyResponse))
)]
pub async fn get_vapid_key(State(state): State<AppState>) -> Json<VapidKeyResponse> {
    Json(VapidKeyResponse {
        public_key: state.vapid.public_key().to_owned(),
    })
}
