//! What every handler and session can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{auth::TokenVerifier, db::Database};

use crate::{
    config::Config,
    fanout::Fanout,
    limits::RateLimiters,
    shutdown::Shutdown,
    store::ChatStore,
    writer::MessageWriter,
    ws::{hub::Hub, socket_slots::SocketSlots},
};

/// The state of every handler and session.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// The database: its pool, health and outbox.
    pub db: Database,
    /// Storage.
    pub store: Arc<dyn ChatStore>,
    /// Checks owner tokens.
    pub verifier: TokenVerifier,
    /// This replica's sockets.
    pub hub: Arc<Hub>,
    /// Delivery of committed messages, here and to the other replicas.
    pub fanout: Arc<Fanout>,
    /// Group-commit writer.
    pub writer: MessageWriter,
    /// Chat-start and message rate limits.
    pub limits: Arc<RateLimiters>,
    /// Sockets per room and participant.
    pub socket_slots: Arc<SocketSlots>,
    /// The ordered shutdown sessions take part in.
    pub shutdown: Arc<Shutdown>,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
