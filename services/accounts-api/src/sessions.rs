//! An owner's session, the flows behind the token endpoints: log in (throttled, one answer for
//! every failure), refresh (SimpleJWT's, with optional rotation and reuse detection) and log
//! out. Handlers parse the request and shape the response; the decisions are here.

use shared::{
    auth::TokenType,
    http::{ApiError, ClientKey},
};

use crate::{
    domain::{Password, PhoneNumber, RefreshToken, User},
    state::AppState,
};

/// The one message for an unknown phone or a wrong password.
pub const INVALID_CREDENTIALS: &str = "Invalid phone number or password.";

/// SimpleJWT's detail for a refresh token that was logged out, used before under rotation, or
/// belongs to a family revoked by reuse.
pub const BLACKLISTED: &str = "Token is blacklisted";

/// Tokens handed out.
#[derive(Debug)]
pub struct Tokens {
    /// A new refresh token (a refresh without rotation returns none).
    pub refresh: Option<String>,
    /// A new access token.
    pub access: String,
}

fn sign(
    state: &AppState,
    user: shared::ids::UserId,
    kind: TokenType,
    family: Option<&str>,
) -> Result<String, ApiError> {
    let lifetime = match kind {
        TokenType::Access => state.config.access_token_lifetime_secs,
        TokenType::Refresh => state.config.refresh_token_lifetime_secs,
    };
    Ok(state
        .signer
        .sign_in_family(user, kind, lifetime, family)
        .map_err(anyhow::Error::from)?)
}

/// Checks a phone and password and opens a session. The guess is counted before argon2 runs
/// and refunded on success, so parallel guesses cannot outrun the throttle; an unknown phone
/// costs the same argon2 work as a wrong password.
pub async fn log_in(
    state: &AppState,
    client: ClientKey,
    raw_phone: &str,
    password: String,
) -> Result<(User, Tokens), ApiError> {
    let phone = PhoneNumber::parse(raw_phone).ok();
    let admission = state.login_throttle.admit(client, phone.as_ref())?;
    let user = match &phone {
        Some(phone) => state.store.find_user_by_phone(phone).await?,
        None => None,
    };
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let valid = match state
        .hasher
        .verify(Password::presented(password), stored_hash)
        .await
    {
        Ok(valid) => valid,
        Err(e) => {
            admission.refund();
            return Err(e.into());
        }
    };
    let user = user
        .filter(|_| valid)
        .ok_or(ApiError::AuthenticationFailed(INVALID_CREDENTIALS))?;
    admission.refund();
    let tokens = Tokens {
        refresh: Some(sign(state, user.id, TokenType::Refresh, None)?),
        access: sign(state, user.id, TokenType::Access, None)?,
    };
    tracing::info!(user.id = %user.id, "owner logged in");
    Ok((user, tokens))
}

/// Exchanges a verified refresh token for a new access token and, under rotation, a new
/// refresh token of the same family.
pub async fn refresh(state: &AppState, token: &RefreshToken) -> Result<Tokens, ApiError> {
    let config = &state.config;
    let refresh = if config.rotate_refresh_tokens {
        let family_expires_at = token.family_expires_at(config.refresh_token_lifetime_secs);
        if !state
            .store
            .use_refresh_token(token, family_expires_at)
            .await?
        {
            return Err(ApiError::RefreshTokenNotValid(BLACKLISTED));
        }
        Some(sign(
            state,
            token.user_id,
            TokenType::Refresh,
            Some(&token.family),
        )?)
    } else {
        if state.store.is_refresh_token_blacklisted(token).await? {
            return Err(ApiError::RefreshTokenNotValid(BLACKLISTED));
        }
        None
    };
    Ok(Tokens {
        refresh,
        access: sign(state, token.user_id, TokenType::Access, None)?,
    })
}

/// Blacklists a verified refresh token and revokes its family.
pub async fn log_out(state: &AppState, token: &RefreshToken) -> Result<(), ApiError> {
    let family_expires_at = token.family_expires_at(state.config.refresh_token_lifetime_secs);
    if !state
        .store
        .blacklist_refresh_token(token, family_expires_at)
        .await?
    {
        return Err(ApiError::RefreshTokenNotValid(BLACKLISTED));
    }
    tracing::info!(user.id = %token.user_id, "owner logged out");
    Ok(())
}
