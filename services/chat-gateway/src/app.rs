//! Wiring: the application state, the service (router + relay + owner projection) that the
//! standalone bundle embeds, and the `Application` that serves it on its own port.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use axum::{extract::FromRef, Router};
use shared::{
    auth::{KeyRing, TokenVerifier},
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
    limits::RateLimiters,
    shutdown::Shutdown,
    store::ChatStore,
    writer::MessageWriter,
    ws::{hub::Hub, socket_slots::SocketSlots},
};

/// What every handler and session can reach.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// Storage.
    pub store: Arc<dyn ChatStore>,
    /// Checks owner tokens.
    pub verifier: TokenVerifier,
    /// This replica's sockets.
    pub hub: Arc<Hub>,
    /// Group-commit writer.
    pub writer: MessageWriter,
    /// Chat-start and message rate limits.
    pub limits: Arc<RateLimiters>,
    /// Sockets per room and participant.
    pub socket_slots: Arc<SocketSlots>,
    /// Wakes the outbox relay after a commit.
    pub outbox_wake: Arc<Notify>,
    /// The ordered shutdown sessions take part in.
    pub shutdown: Arc<Shutdown>,
}

impl FromRef<AppState> for TokenVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// chat-gateway without a listener.
pub struct Service {
    /// API and WebSocket routes.
    pub router: Router,
    /// Shared state, for tools and tests.
    pub state: AppState,
    bus: Arc<dyn EventBus>,
}

/// Ready means "this replica can serve": its database answers. NATS is left out on purpose:
/// a NATS restart would otherwise mark every replica unready at once and the ingress would
/// route to none, while each replica can still serve its own sockets and commit messages (the
/// outbox publishes them when NATS returns). NATS loss shows in `nats_connected` and the logs.
struct StoreReadiness(Arc<dyn ChatStore>);

#[async_trait]
impl Readiness for StoreReadiness {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| format!("database: {e}"))
    }
}

impl Service {
    /// Connects storage (migrating it), starts the writers and builds the router. `stop` is
    /// the shutdown signal sessions and background tasks watch; the shutdown runs in the task
    /// [`Self::start_background`] returns.
    pub async fn build(
        config: Config,
        bus: Arc<dyn EventBus>,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let store =
            crate::store::connect(&config.database_url, config.database_max_connections).await?;
        let secret = config
            .jwt_secret
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("JWT_SECRET is required"))?;
        let keys = KeyRing::new(secret, &config.jwt_previous_secrets);
        let replica_id = config
            .replica_id
            .clone()
            .unwrap_or_else(|| format!("gateway-{}", uuid::Uuid::new_v4().simple()));
        let outbox_wake = Arc::new(Notify::new());
        let shards = match config.database_url.backend() {
            shared::config::Backend::Postgres => config.message_writers.max(1),
            shared::config::Backend::Sqlite => 1,
        };
        let state = AppState {
            limits: Arc::new(RateLimiters::new(&config)),
            socket_slots: SocketSlots::new(config.ws_sockets_per_token, config.ws_sockets_per_room),
            writer: MessageWriter::spawn(store.clone(), outbox_wake.clone(), shards),
            hub: Hub::new(bus.clone(), store.clone(), replica_id),
            config: Arc::new(config),
            store,
            verifier: keys.verifier(),
            outbox_wake,
            shutdown: Arc::new(Shutdown::new(stop)),
        };
        Ok(Self {
            router: crate::router::router(state.clone()),
            state,
            bus,
        })
    }

    /// The relay that publishes this service's outbox.
    pub fn relay(&self) -> Relay {
        Relay::new(
            "chat-gateway",
            self.state.store.outbox(),
            Arc::new(BusSink {
                bus: self.bus.clone(),
                origin: self.state.hub.replica_id().to_owned(),
            }),
            self.state.outbox_wake.clone(),
        )
    }

    /// The readiness check (database reachable).
    pub fn readiness(&self) -> Arc<dyn Readiness> {
        Arc::new(StoreReadiness(self.state.store.clone()))
    }

    /// Starts the outbox relay, the owner projection, the pool gauge and the ordered shutdown
    /// (`crate::shutdown`); the task ends once the stop token is cancelled, the writers are
    /// drained, the sockets are closed and the relay has made its last attempt. Returns once
    /// the projection is subscribed.
    pub async fn start_background(&self) -> tokio::task::JoinHandle<()> {
        let shutdown = self.state.shutdown.clone();
        let writer = self.state.writer.clone();
        let stop = shutdown.stop().clone();
        let relay = self.relay();
        let store = self.state.store.clone();
        let deliveries =
            crate::consumers::account_events::subscribe(self.bus.as_ref(), store.as_ref(), &stop)
                .await;
        let projection_store = store.clone();
        let projection_stop = stop.clone();
        let projection = async move {
            if let Some(deliveries) = deliveries {
                crate::consumers::account_events::run(
                    deliveries,
                    projection_store,
                    projection_stop,
                )
                .await;
            }
        };
        tokio::spawn(async move {
            let gauges = async {
                loop {
                    let (size, idle) = store.pool_usage();
                    shared::metrics::set_pool_usage("chat-gateway", size, idle);
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    }
                }
            };
            // The relay outlives the writers so that their last commits are published here.
            let relay_stop = shutdown.sockets_closing().clone();
            tokio::join!(
                shutdown.run(&writer),
                relay.run_until_stopped(relay_stop),
                projection,
                gauges
            );
        })
    }
}

/// chat-gateway on its own port.
pub struct Application {
    listener: TcpListener,
    service: Service,
}

impl Application {
    /// Binds `config.listen_addr` (port 0 picks a free one) and builds the service.
    pub async fn build(config: Config, stop: CancellationToken) -> anyhow::Result<Self> {
        let bus = shared::events::connect_bus(
            config.nats_url.as_deref(),
            &config.nats_subject_prefix,
            &config.nats_streams,
            &config.nats_auth,
        )
        .await?;
        Self::build_with_bus(config, bus, stop).await
    }

    /// Like [`Self::build`] with a given bus.
    pub async fn build_with_bus(
        config: Config,
        bus: Arc<dyn EventBus>,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen_addr).await?;
        let service = Service::build(config, bus, stop).await?;
        Ok(Self { listener, service })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The service, for tests.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Serves until the stop token given to `build` is cancelled.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let background = self.service.start_background().await;
        let router = shared::http::serve::with_standard_layers(
            self.service
                .router
                .clone()
                .merge(shared::http::ops::router(vec![self.service.readiness()])),
        );
        tracing::info!(addr = %self.listener.local_addr()?, replica = %self.service.state.hub.replica_id(), "chat-gateway listening");
        let state = &self.service.state;
        shared::http::serve::serve(
            self.listener,
            router,
            &state.config.http,
            state.config.trust_forwarded_for,
            state.shutdown.stop().clone(),
        )
        .await?;
        background.await?;
        Ok(())
    }
}
