//! `POST /api/login/`: phone + password → tokens + user. Every failure is the same 401, after
//! the same argon2 work; guesses are counted before they are checked (see
//! [`crate::login_throttle`]).

use axum::{extract::State, http::HeaderMap, Json};
use serde::Serialize;
use shared::http::{
    fields::{self, msg},
    ApiError, ClientKey, DetailBody, FieldErrors, JsonObject, PeerAddr,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::user_body::OwnerUser;
use crate::{sessions, state::AppState};

/// Login body.
#[derive(ToSchema)]
pub struct LoginRequest {
    pub phone_number: String,
    pub password: String,
}

impl LoginRequest {
    /// Both fields, or every missing one.
    pub fn parse(body: &JsonObject) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let phone = fields::require(
            fields::string(body, "phone_number", &mut errors),
            "phone_number",
            &mut errors,
        );
        // Passwords are compared exactly as typed: no trimming.
        let password = match body.get("password") {
            Some(serde_json::Value::String(p)) if !p.is_empty() => Some(p.clone()),
            Some(serde_json::Value::String(_)) => {
                errors.add("password", msg::BLANK);
                None
            }
            Some(serde_json::Value::Null) => {
                errors.add("password", msg::NULL);
                None
            }
            Some(_) => {
                errors.add("password", msg::NOT_A_STRING);
                None
            }
            None => {
                errors.add("password", msg::REQUIRED);
                None
            }
        };
        match (phone, password) {
            (Some(phone_number), Some(password)) => Ok(Self {
                phone_number,
                password,
            }),
            _ => Err(errors),
        }
    }
}

/// A refresh and an access token.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// Refresh token (7 days by default).
    pub refresh: String,
    /// Access token (60 minutes by default).
    pub access: String,
}

/// Login response.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// The tokens.
    pub tokens: TokenPair,
    /// The owner.
    pub user: OwnerUser,
}

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(obtain_token))
}

/// Login with phone and password.
#[utoipa::path(
    post,
    path = "/api/login/",
    tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, description = "Missing fields", body = Object),
        (status = 401, description = "Invalid phone number or password.", body = DetailBody),
        (status = 429, description = "Too many failed attempts, or every password hasher is busy; see Retry-After", body = DetailBody),
    )
)]
pub async fn obtain_token(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Json<LoginResponse>, ApiError> {
    let LoginRequest {
        phone_number,
        password,
    } = LoginRequest::parse(&body)?;
    let client = ClientKey::of(&headers, peer, state.config.common.trust_forwarded_for);
    let (user, tokens) = sessions::log_in(&state, client, &phone_number, password).await?;
    Ok(Json(LoginResponse {
        tokens: TokenPair {
            refresh: tokens.refresh.unwrap_or_default(),
            access: tokens.access,
        },
        user: OwnerUser::from(&user),
    }))
}
