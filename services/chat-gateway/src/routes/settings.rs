//! `GET`, `PUT` and `PATCH /api/chat/settings/`: the owner pauses the sticker
//! (`accepting_messages`) and sets quiet hours (`quiet_until`, no push notifications before
//! it). The settings live here, not in the guide's profile object; a change is published as
//! `chat.owners.<id>.settings` for the notification service.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use shared::{
    auth::OwnerAuth,
    http::{fields, ApiError, DetailBody, FieldErrors, JsonObject},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{domain::OwnerSettings, state::AppState};

/// DRF's message for a `DateTimeField` that does not parse.
const DATETIME_FORMAT: &str = "Datetime has wrong format. Use one of these formats instead: \
     YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

/// An owner's chat settings.
#[derive(Serialize, ToSchema)]
pub struct SettingsBody {
    /// `false` pauses the sticker: chat start refuses new rooms with
    /// `{"code": "not_accepting_messages"}`.
    pub accepting_messages: bool,
    /// No push notifications before this time (ISO 8601, UTC); `null` for none.
    pub quiet_until: Option<String>,
}

impl From<OwnerSettings> for SettingsBody {
    fn from(settings: OwnerSettings) -> Self {
        Self {
            accepting_messages: settings.accepting_messages,
            quiet_until: settings.quiet_until.as_ref().map(shared::time::format),
        }
    }
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings, patch_settings))
}

/// `quiet_until`: absent, `null`, or an ISO 8601 time with an offset.
fn quiet_until(
    body: &JsonObject,
    errors: &mut FieldErrors,
) -> fields::Field<Option<DateTime<Utc>>> {
    match body.get("quiet_until") {
        None => fields::Field::Absent,
        Some(Value::Null) => fields::Field::Present(None),
        Some(Value::String(raw)) => match DateTime::parse_from_rfc3339(raw.trim()) {
            Ok(at) => fields::Field::Present(Some(at.with_timezone(&Utc))),
            Err(_) => {
                errors.add("quiet_until", DATETIME_FORMAT);
                fields::Field::Failed
            }
        },
        Some(_) => {
            errors.add("quiet_until", DATETIME_FORMAT);
            fields::Field::Failed
        }
    }
}

/// The settings a body asks for, over `current`; every field required unless `partial`.
fn parse(
    body: &JsonObject,
    current: OwnerSettings,
    partial: bool,
) -> Result<OwnerSettings, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut accepting = fields::boolean(body, "accepting_messages", &mut errors);
    let mut quiet = quiet_until(body, &mut errors);
    if partial {
        accepting = accepting.or(current.accepting_messages);
        quiet = quiet.or(current.quiet_until);
    }
    let accepting = fields::require(accepting, "accepting_messages", &mut errors);
    let quiet = fields::require(quiet, "quiet_until", &mut errors);
    match (accepting, quiet) {
        (Some(accepting_messages), Some(quiet_until)) if errors.is_empty() => Ok(OwnerSettings {
            accepting_messages,
            quiet_until,
        }),
        _ => Err(errors),
    }
}

async fn save(
    state: &AppState,
    owner: &OwnerAuth,
    body: &JsonObject,
    partial: bool,
) -> Result<Json<SettingsBody>, ApiError> {
    let current = state.store.owner_settings(owner.user_id).await?;
    let wanted = parse(body, current, partial).map_err(ApiError::Validation)?;
    state.limits.owner_action(owner.user_id)?;
    let saved = state
        .store
        .save_owner_settings(owner.user_id, wanted)
        .await?;
    Ok(Json(SettingsBody::from(saved)))
}

/// The owner's chat settings.
#[utoipa::path(
    get,
    path = "/api/chat/settings/",
    tag = "chat",
    security(("jwt" = [])),
    responses((status = 200, body = SettingsBody), (status = 401, body = DetailBody))
)]
pub async fn get_settings(
    State(state): State<AppState>,
    owner: OwnerAuth,
) -> Result<Json<SettingsBody>, ApiError> {
    let settings = state.store.owner_settings(owner.user_id).await?;
    Ok(Json(SettingsBody::from(settings)))
}

/// Replace the owner's chat settings (both fields required).
#[utoipa::path(
    put,
    path = "/api/chat/settings/",
    tag = "chat",
    security(("jwt" = [])),
    request_body = Object,
    responses(
        (status = 200, body = SettingsBody),
        (status = 400, description = "Field errors, e.g. `{\"quiet_until\": [\"Datetime has wrong format. …\"]}`", body = Object),
        (status = 401, body = DetailBody),
        (status = 429, description = "Over `OWNER_ACTIONS_PER_MINUTE`; see Retry-After", body = DetailBody),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    owner: OwnerAuth,
    body: JsonObject,
) -> Result<Json<SettingsBody>, ApiError> {
    save(&state, &owner, &body, false).await
}

/// Change some of the owner's chat settings.
#[utoipa::path(
    patch,
    path = "/api/chat/settings/",
    tag = "chat",
    security(("jwt" = [])),
    request_body = Object,
    responses(
        (status = 200, body = SettingsBody),
        (status = 400, description = "Field errors", body = Object),
        (status = 401, body = DetailBody),
        (status = 429, description = "Over `OWNER_ACTIONS_PER_MINUTE`; see Retry-After", body = DetailBody),
    )
)]
pub async fn patch_settings(
    State(state): State<AppState>,
    owner: OwnerAuth,
    body: JsonObject,
) -> Result<Json<SettingsBody>, ApiError> {
    save(&state, &owner, &body, true).await
}
