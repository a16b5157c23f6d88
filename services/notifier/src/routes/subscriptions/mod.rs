//! `POST /api/push/subscriptions/` and `DELETE /api/push/subscriptions/`: the owner's
//! browsers subscribe to notifications and unsubscribe. A subscription is keyed by its
//! endpoint: posting a known endpoint again replaces its keys and owner (200), a new one is
//! created (201).

mod body;

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use shared::{
    auth::OwnerAuth,
    http::{ApiError, DetailBody, FieldErrors, JsonObject},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    domain::{NewSubscription, PushEndpoint},
    state::AppState,
    store::Saved,
};

/// The browser's `PushSubscription.toJSON()`.
#[derive(Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct SubscribeRequest {
    /// The push service URL: `https`, on a public host.
    endpoint: String,
    /// Ignored; `null` or milliseconds since the epoch.
    #[serde(rename = "expirationTime")]
    expiration_time: Option<i64>,
    /// The keys the payload is encrypted to.
    keys: SubscriptionKeysBody,
}

/// `keys` of a subscription.
#[derive(Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct SubscriptionKeysBody {
    /// base64url of the browser's uncompressed P-256 public key (65 bytes).
    p256dh: String,
    /// base64url of the browser's authentication secret (16 bytes).
    auth: String,
}

/// Which subscription to delete.
#[derive(Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct UnsubscribeRequest {
    /// The subscription's endpoint.
    endpoint: String,
}

/// A stored subscription.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionResponse {
    /// Its endpoint, as stored.
    pub endpoint: String,
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_subscription, delete_subscription))
}

/// Subscribe a browser to the owner's notifications.
#[utoipa::path(
    post,
    path = "/api/push/subscriptions/",
    tag = "push",
    security(("jwt" = [])),
    request_body = SubscribeRequest,
    responses(
        (status = 201, description = "A new endpoint", body = SubscriptionResponse),
        (status = 200, description = "A known endpoint: its keys and owner replaced", body = SubscriptionResponse),
        (status = 400, description = "`{\"endpoint\": [\"…\"], \"keys\": {\"p256dh\": [\"…\"]}}`: every failing field, the keys' nested; an endpoint that is not https or not on a public host is refused here", body = Object),
        (status = 401, body = DetailBody),
        (status = 429, description = "The owner holds as many subscriptions as allowed", body = DetailBody),
    )
)]
pub async fn create_subscription(
    State(state): State<AppState>,
    owner: OwnerAuth,
    body: JsonObject,
) -> Result<(StatusCode, Json<SubscriptionResponse>), ApiError> {
    let (endpoint, keys, mut errors) = body::parse(&body, state.guard.allows_private());
    if let Some(endpoint) = &endpoint {
        if let Err(refusal) = state.guard.admit(endpoint).await {
            errors.add("endpoint", refusal.to_string());
        }
    }
    let (Some(endpoint), Some(keys), true) = (endpoint, keys, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let subscription = NewSubscription {
        owner_id: owner.user_id,
        endpoint,
        keys,
    };
    let saved = state
        .store
        .upsert_subscription(&subscription, state.config.push_max_subscriptions_per_owner)
        .await?;
    tracing::info!(user.id = %owner.user_id, created = saved == Saved::Created, "push subscription stored");
    let status = match saved {
        Saved::Created => StatusCode::CREATED,
        Saved::Updated => StatusCode::OK,
    };
    Ok((
        status,
        Json(SubscriptionResponse {
            endpoint: subscription.endpoint.to_string(),
        }),
    ))
}

/// Unsubscribe one of the owner's browsers.
#[utoipa::path(
    delete,
    path = "/api/push/subscriptions/",
    tag = "push",
    security(("jwt" = [])),
    request_body = UnsubscribeRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`{\"endpoint\": [\"This field is required.\"]}`", body = Object),
        (status = 401, body = DetailBody),
        (status = 404, description = "The owner has no subscription with this endpoint", body = DetailBody),
    )
)]
pub async fn delete_subscription(
    State(state): State<AppState>,
    owner: OwnerAuth,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    let mut errors = FieldErrors::default();
    let raw = shared::http::fields::string(&body, "endpoint", &mut errors);
    let Some(raw) = shared::http::fields::require(raw, "endpoint", &mut errors) else {
        return Err(ApiError::Validation(errors));
    };
    // Stored endpoints are normalised by URL parsing; so is the one to delete.
    let endpoint = PushEndpoint::parse(&raw, true).map_or(raw, |e| e.to_string());
    if state
        .store
        .delete_subscription(owner.user_id, &endpoint)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
