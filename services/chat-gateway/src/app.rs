//! chat-gateway as a [`shared::service::Service`]: storage, writers, the hub, fan-out and the
//! limits wired into the router, with the relays (outbox, message log), the owner projection
//! and the ordered shutdown in the background.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use shared::{
    config::Backend,
    db::Database,
    events::{
        outbox::{BusSink, Relay},
        EventBus,
    },
    service::{self, ServiceConfig},
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    fanout::Fanout,
    limits::RateLimiters,
    shutdown::Shutdown,
    state::AppState,
    writer::MessageWriter,
    ws::{hub::Hub, socket_slots::SocketSlots},
};

/// Least time between two passes of the message relay.
const MESSAGE_RELAY_PACE: std::time::Duration = std::time::Duration::from_millis(20);

/// chat-gateway on its own port.
pub type Application = service::Application<ChatService>;

/// chat-gateway without a listener.
pub struct ChatService {
    /// Shared state, for tools and tests.
    pub state: AppState,
    bus: Arc<dyn EventBus>,
}

impl ChatService {
    /// The relay that publishes this service's outbox (tests drive it by hand).
    pub fn relay(&self) -> Relay {
        self.state.db.relay(
            Config::NAME,
            self.bus.clone(),
            self.state.fanout.origin().to_owned(),
        )
    }

    /// The relay that publishes the messages' events from the messages table.
    pub fn message_relay(&self) -> Relay {
        let origin = self.state.fanout.origin().to_owned();
        let log = self.state.store.message_log(origin.clone());
        let written = log.written();
        let sink = BusSink {
            bus: self.bus.clone(),
            origin,
        };
        // Sockets have the messages already (fan-out); the durable copies can wait a few
        // milliseconds to go out many at a time.
        Relay::new(Config::NAME, Arc::new(log), Arc::new(sink), written)
            .reading("messages")
            .paced(MESSAGE_RELAY_PACE)
    }
}

#[async_trait]
impl service::Service for ChatService {
    type Config = Config;

    async fn build(config: Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self> {
        let common = &config.common;
        let db = common.connect_database(&crate::store::SCHEMA).await?;
        let store = crate::store::SCHEMA.open(db.clone());
        let verifier = common.key_ring()?.verifier();
        let shards = match common.database_url.backend() {
            Backend::Postgres => config.message_writers.max(1),
            Backend::Sqlite => 1,
        };
        let hub = Arc::new(Hub::default());
        let fanout = Fanout::new(hub.clone(), bus.clone(), store.clone(), common.origin());
        let state = AppState {
            limits: Arc::new(RateLimiters::new(&config)),
            socket_slots: SocketSlots::new(config.ws_sockets_per_token, config.ws_sockets_per_room),
            writer: MessageWriter::spawn(store.clone(), fanout.clone(), shards),
            hub,
            fanout,
            config: Arc::new(config),
            db,
            store,
            verifier,
            shutdown: Arc::new(Shutdown::new(CancellationToken::new())),
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

    /// Starts the outbox relay, the owner projection, the pool gauge and the ordered shutdown
    /// (`crate::shutdown`); the task ends once `stop` is cancelled, the writers are drained,
    /// the sockets are closed and the relay has made its last attempt.
    async fn start_background(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        let shutdown = state.shutdown.clone();
        let sessions_stop = shutdown.stop().clone();
        let relay = self.relay();
        let message_relay = self.message_relay();
        let deliveries = crate::consumers::account_events::subscribe(
            self.bus.as_ref(),
            state.store.as_ref(),
            &sessions_stop,
        )
        .await;
        let projection = {
            let (store, stop) = (state.store.clone(), sessions_stop.clone());
            async move {
                if let Some(deliveries) = deliveries {
                    crate::consumers::account_events::run(deliveries, store, stop).await;
                }
            }
        };
        tokio::spawn(async move {
            let forward_stop = async {
                stop.cancelled().await;
                sessions_stop.cancel();
            };
            // The relay outlives the writers so that their last commits are published here.
            let relay_stop = shutdown.sockets_closing().clone();
            tokio::join!(
                forward_stop,
                shutdown.run(&state.writer),
                relay.run_until_stopped(relay_stop.clone()),
                message_relay.run_until_stopped(relay_stop),
                projection,
                state
                    .db
                    .clone()
                    .report_usage(Config::NAME, shutdown.stop().clone())
            );
        })
    }
}
