//! accounts-api as a [`shared::service::Service`]: storage, keys, hashing and the public
//! profile cache wired into the router, with the outbox relay and the cache's event
//! subscription in the background.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use axum::Router;
use shared::{
    db::Database,
    events::{outbox::Relay, EventBus},
    service::{self, ServiceConfig},
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    domain::{password_hasher::HashingBounds, PasswordHasher},
    login_throttle::LoginThrottle,
    profile_cache::PublicProfileCache,
    state::AppState,
};

/// accounts-api on its own port.
pub type Application = service::Application<AccountsService>;

/// accounts-api without a listener: its router and its background work.
pub struct AccountsService {
    /// Shared state, for tools and tests.
    pub state: AppState,
    bus: Arc<dyn EventBus>,
}

impl AccountsService {
    /// The relay that publishes this service's outbox (tests drive it by hand).
    pub fn relay(&self) -> Relay {
        self.state.db.relay(
            Config::NAME,
            self.bus.clone(),
            self.state.config.common.origin(),
        )
    }
}

#[async_trait]
impl service::Service for AccountsService {
    type Config = Config;

    async fn build(config: Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self> {
        let common = &config.common;
        let db = common.connect_database(&crate::store::SCHEMA).await?;
        let keys = common.key_ring()?;
        let hasher = PasswordHasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            HashingBounds {
                concurrent: config.argon2_max_concurrent,
                queued: config.argon2_max_queued,
            },
        )?;
        let public_profiles = Arc::new(PublicProfileCache::new(
            Duration::from_secs(config.public_profile_cache_ttl_secs),
            config.public_profile_cache_max_entries,
            bus.clone(),
        ));
        let state = AppState {
            login_throttle: Arc::new(LoginThrottle::new(&config)),
            public_profiles,
            config: Arc::new(config),
            store: crate::store::SCHEMA.open(db.clone()),
            db,
            signer: keys.signer(),
            verifier: keys.verifier(),
            hasher,
        };
        Ok(Self { state, bus })
    }

    fn config(&self) -> &Config {
        &self.state.config
    }

    fn database(&self) -> &Database {
        &self.state.db
    }

    fn router(&self) -> Router {
        crate::router::router(self.state.clone())
    }

    async fn start_background(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let db = self.state.db.clone();
        let relay = self.relay();
        let public_profiles = self.state.public_profiles.clone();
        tokio::spawn(async move {
            tokio::join!(
                relay.run_until_stopped(stop.clone()),
                public_profiles.follow_events(stop.clone()),
                db.report_usage(Config::NAME, stop)
            );
        })
    }
}
