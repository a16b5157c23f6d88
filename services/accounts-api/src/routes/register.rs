//! `POST /api/user/register/`: activate a sticker with phone, password and profile.

use axum::{extract::State, http::StatusCode, Json};
use shared::{
    http::{ApiError, FieldErrors, JsonObject},
    ids::UserId,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{profile_request::RegisterRequest, user_body::OwnerUser};
use crate::{
    domain::{PhoneNumber, Registration, RegistrationConflict},
    error::add_conflict,
    state::AppState,
    store::NewRegistration,
};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register_user))
}

/// Adds the errors only stored state can tell (unknown or used sticker, taken phone), so a
/// client sees every failing field in one response and no password is hashed for nothing.
async fn add_stored_state_errors(
    state: &AppState,
    body: &JsonObject,
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    let user_id = body
        .get("user_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<UserId>().ok());
    if let Some(id) = user_id {
        let sticker = state.store.find_user(id).await?;
        if let Some(conflict) = RegistrationConflict::of_sticker(sticker.as_ref()) {
            add_conflict(errors, conflict);
        }
    }
    let phone = body
        .get("phone_number")
        .and_then(|v| v.as_str())
        .and_then(|s| PhoneNumber::parse(s).ok());
    if let Some(phone) = phone {
        let holder = state.store.find_user_by_phone(&phone).await?;
        if let Some(conflict) = RegistrationConflict::of_phone(holder.as_ref(), user_id) {
            add_conflict(errors, conflict);
        }
    }
    Ok(())
}

/// Register user after QR scan.
#[utoipa::path(
    post,
    path = "/api/user/register/",
    tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = OwnerUser),
        (status = 400, description = "Every failing field, e.g. `{\"user_id\": [\"User already registered. Please login.\"]}`", body = Object),
    )
)]
pub async fn register_user(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<(StatusCode, Json<OwnerUser>), ApiError> {
    let parsed = RegisterRequest::parse(&body);
    let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
    add_stored_state_errors(&state, &body, &mut errors).await?;
    let registration = match parsed {
        Ok(request) if errors.is_empty() => Registration::from(request),
        _ => return Err(ApiError::Validation(errors)),
    };
    let password_hash = state.hasher.hash(registration.password).await?;
    // The sticker's 404 may be held in memory; it goes once the registration has committed.
    let _changing = state.public_profiles.changing(registration.user_id);
    let user = state
        .store
        .register_user(&NewRegistration {
            user_id: registration.user_id,
            phone_number: registration.phone_number,
            password_hash,
            profile: registration.profile,
        })
        .await?;
    tracing::info!(user.id = %user.id, "sticker registered");
    Ok((StatusCode::CREATED, Json(OwnerUser::from(&user))))
}
