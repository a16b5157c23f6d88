//! Wiring: the application state, the service (router + background relay) that the standalone
//! bundle embeds, and the `Application` that serves it on its own port.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use axum::{extract::FromRef, Router};
use shared::{
    auth::{KeyRing, TokenSigner, TokenVerifier},
    events::{
        outbox::{BusSink, Relay},
        EventBus,
    },
    http::ops::Readiness,
};
use tokio::{net::TcpListener, sync::Notify};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    domain::{password_hasher::HashingBounds, PasswordHasher},
    login_throttle::LoginThrottle,
    store::AccountStore,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
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
    /// Wakes the outbox relay after a commit.
    pub outbox_wake: Arc<Notify>,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// accounts-api without a listener: its router and its background work.
pub struct Service {
    /// The API and docs routes.
    pub router: Router,
    /// Shared state, for tools and tests.
    pub state: AppState,
    bus: Arc<dyn EventBus>,
}

struct StoreReadiness(Arc<dyn AccountStore>);

#[async_trait]
impl Readiness for StoreReadiness {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| format!("database: {e}"))
    }
}

impl Service {
    /// Connects storage (migrating it) and builds the router.
    pub async fn build(config: Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self> {
        let store =
            crate::store::connect(&config.database_url, config.database_max_connections).await?;
        let secret = config
            .jwt_secret
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("JWT_SECRET is required"))?;
        let keys = KeyRing::new(secret, &config.jwt_previous_secrets);
        let hasher = PasswordHasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            HashingBounds {
                concurrent: config.argon2_max_concurrent,
                queued: config.argon2_max_queued,
            },
        )?;
        let state = AppState {
            login_throttle: Arc::new(LoginThrottle::new(&config)),
            config: Arc::new(config),
            store,
            signer: keys.signer(),
            verifier: keys.verifier(),
            hasher,
            outbox_wake: Arc::new(Notify::new()),
        };
        Ok(Self {
            router: crate::router::router(state.clone()),
            state,
            bus,
        })
    }

    /// The relay that publishes this service's outbox.
    pub fn relay(&self) -> Relay {
        let origin = self
            .state
            .config
            .replica_id
            .clone()
            .unwrap_or_else(|| format!("accounts-api-{}", uuid::Uuid::new_v4().simple()));
        Relay::new(
            "accounts-api",
            self.state.store.outbox(),
            Arc::new(BusSink {
                bus: self.bus.clone(),
                origin,
            }),
            self.state.outbox_wake.clone(),
        )
    }

    /// The readiness check (database reachable).
    pub fn readiness(&self) -> Arc<dyn Readiness> {
        Arc::new(StoreReadiness(self.state.store.clone()))
    }

    /// Starts the relay and the pool gauge; they stop with `stop`.
    pub fn spawn_background(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let relay = self.relay();
        let store = self.state.store.clone();
        let gauge_stop = stop.clone();
        tokio::spawn(async move {
            let gauges = async {
                loop {
                    let (size, idle) = store.pool_usage();
                    shared::metrics::set_pool_usage("accounts-api", size, idle);
                    tokio::select! {
                        () = gauge_stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    }
                }
            };
            tokio::join!(relay.run_until_stopped(stop), gauges);
        })
    }
}

/// accounts-api on its own port.
pub struct Application {
    listener: TcpListener,
    service: Service,
}

impl Application {
    /// Binds `config.listen_addr` (port 0 picks a free one) and builds the service.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bus = shared::events::connect_bus(
            config.nats_url.as_deref(),
            &config.nats_subject_prefix,
            &config.nats_streams,
            &config.nats_auth,
        )
        .await?;
        Self::build_with_bus(config, bus).await
    }

    /// Like [`Self::build`] with a given bus.
    pub async fn build_with_bus(config: Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen_addr).await?;
        let service = Service::build(config, bus).await?;
        Ok(Self { listener, service })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The service, for tests that drive the relay by hand.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Serves until `stop` is cancelled, then drains requests and the outbox.
    pub async fn run_until_stopped(self, stop: CancellationToken) -> anyhow::Result<()> {
        let background = self.service.spawn_background(stop.clone());
        let router = shared::http::serve::with_standard_layers(
            self.service
                .router
                .clone()
                .merge(shared::http::ops::router(vec![self.service.readiness()])),
        );
        tracing::info!(addr = %self.listener.local_addr()?, "accounts-api listening");
        let config = &self.service.state.config;
        shared::http::serve::serve(
            self.listener,
            router,
            &config.http,
            config.trust_forwarded_for,
            stop,
        )
        .await?;
        background.await?;
        Ok(())
    }
}
