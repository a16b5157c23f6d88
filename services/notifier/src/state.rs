//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{auth::TokenVerifier, db::Database};

use crate::{
    config::Config,
    push::{EndpointGuard, VapidKey},
    store::NotifierStore,
};

/// The state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// The database: its pool and health.
    pub db: Database,
    /// Storage.
    pub store: Arc<dyn NotifierStore>,
    /// Checks owner tokens.
    pub verifier: TokenVerifier,
    /// The VAPID key (its public half is served).
    pub vapid: Arc<VapidKey>,
    /// Where endpoints may lead.
    pub guard: EndpointGuard,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
