//! The notifier as a [`shared::service::Service`]: storage, the VAPID key and the endpoint
//! guard wired into the router, with the chat consumer, the dispatcher, the gauges and the
//! pruning of old rows in the background.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use axum::Router;
use shared::{
    db::Database,
    events::EventBus,
    service::{self, ServiceConfig},
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    dispatcher::Dispatcher,
    push::{EndpointGuard, PushSender},
    state::AppState,
    store::NotifierStore,
};

/// Event ids and idle rooms are kept this long: past the CHAT stream's 7 days, so any
/// redelivery still finds its id.
const KEEP: chrono::Duration = chrono::Duration::days(8);

/// The notifier on its own port.
pub type Application = service::Application<NotifierService>;

/// The notifier without a listener.
pub struct NotifierService {
    /// Shared state, for tools and tests.
    pub state: AppState,
    /// Dispatch and sending (tests drive its steps by hand).
    pub dispatcher: Arc<Dispatcher>,
    bus: Arc<dyn EventBus>,
    due: Arc<Notify>,
}

#[async_trait]
impl service::Service for NotifierService {
    type Config = Config;

    async fn build(config: Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self> {
        let common = &config.common;
        let db = common.connect_database(&crate::store::SCHEMA).await?;
        let store = crate::store::SCHEMA.open(db.clone());
        let verifier = common.key_ring()?.verifier();
        let vapid = Arc::new(config.vapid_key()?);
        let guard = EndpointGuard::new(config.push_allow_private_endpoints);
        let sender = PushSender::new(
            guard,
            vapid.clone(),
            config.vapid_subject.clone(),
            config.push_ttl_secs,
            config.send_timeout(),
        )?;
        let due = Arc::new(Notify::new());
        let dispatcher = Arc::new(Dispatcher::new(&config, store.clone(), sender, due.clone()));
        let state = AppState {
            config: Arc::new(config),
            db,
            store,
            verifier,
            vapid,
            guard,
        };
        Ok(Self {
            state,
            dispatcher,
            bus,
            due,
        })
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

    /// Subscribes the durable consumer (returning once it exists), then runs it, the
    /// dispatcher, the gauges and the pruning until `stop`; the dispatcher lets its sends in
    /// flight finish and record their outcomes before the task ends.
    async fn start_background(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        let deliveries =
            crate::consumer::subscribe(self.bus.as_ref(), &state.config.notifier_consumer, &stop)
                .await;
        let consumer = {
            let (store, due, stop) = (state.store.clone(), self.due.clone(), stop.clone());
            let max_age = state.config.max_event_age();
            async move {
                if let Some(deliveries) = deliveries {
                    crate::consumer::run(deliveries, store, max_age, due, stop).await;
                }
            }
        };
        let dispatcher = self.dispatcher.clone().run(stop.clone());
        tokio::spawn(async move {
            tokio::join!(
                consumer,
                dispatcher,
                upkeep(state.store.clone(), stop.clone()),
                state.db.clone().report_usage(Config::NAME, stop)
            );
        })
    }
}

/// The subscriptions gauge every few seconds, and old event ids and idle rooms pruned every
/// ten minutes, until `stop`.
async fn upkeep(store: Arc<dyn NotifierStore>, stop: CancellationToken) {
    let mut pruned_at: Option<tokio::time::Instant> = None;
    loop {
        if let Ok(count) = store.count_subscriptions().await {
            metrics::gauge!("push_subscriptions").set(count as f64);
        }
        if pruned_at.is_none_or(|at| at.elapsed() > Duration::from_secs(600)) {
            match store.prune(shared::time::now() - KEEP).await {
                Ok(()) => pruned_at = Some(tokio::time::Instant::now()),
                Err(e) => tracing::warn!(error = %e, "could not prune old notifier rows"),
            }
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}
