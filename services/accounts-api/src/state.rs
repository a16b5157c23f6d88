//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{
    auth::{TokenSigner, TokenVerifier},
    db::Database,
};

use crate::{
    config::Config, domain::PasswordHasher, login_throttle::LoginThrottle,
    profile_cache::PublicProfileCache, store::AccountStore,
};

/// The state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// The database: its pool, health and outbox.
    pub db: Database,
    /// Storage.
    pub store: Arc<dyn AccountStore>,
    /// Mints tokens.
    pub signer: TokenSigner,
    /// Checks tokens.
    pub verifier: TokenVerifier,
    /// argon2id.
    pub hasher: PasswordHasher,
    /// Login throttle.
    pub login_throttle: Arc<LoginThrottle>,
    /// `GET /user/<id>/` answers held in memory; every write to a user invalidates its entry.
    pub public_profiles: Arc<PublicProfileCache>,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
