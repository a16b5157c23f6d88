//! A service's lifecycle, the same for every service: [`Service::build`] on a bus (the
//! standalone bundle stops here and serves several on one port), or [`Application::build`],
//! which binds the service's own port and connects the bus its settings name.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use super::ServiceConfig;
use crate::{db::Database, events::EventBus, http::ops::Readiness};

/// A service without a listener: what the standalone bundle embeds.
#[async_trait]
pub trait Service: Sized + Send + Sync + 'static {
    /// Its configuration.
    type Config: ServiceConfig;

    /// Connects storage (migrating it) and builds the router; nothing runs yet.
    async fn build(config: Self::Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self>;

    /// Its configuration.
    fn config(&self) -> &Self::Config;

    /// The API routes, with state; operational routes and layers are added by whoever serves.
    fn router(&self) -> Router;

    /// Its database.
    fn database(&self) -> &Database;

    /// What `/readyz` checks: that the database answers. NATS is left out on purpose: a NATS
    /// restart would otherwise mark every replica unready at once and the ingress would route
    /// to none, while each replica can still serve and commit (the outbox publishes when NATS
    /// returns). NATS loss shows in `nats_connected` and the logs.
    fn readiness(&self) -> Arc<dyn Readiness> {
        Arc::new(self.database().clone())
    }

    /// Starts the background work (outbox relay, consumers, gauges). It stops once `stop` is
    /// cancelled; the returned task ends when it has drained. Returns once consumers are
    /// subscribed, so nothing published after it is missed.
    async fn start_background(&self, stop: CancellationToken) -> JoinHandle<()>;
}

/// A service on its own port.
pub struct Application<S> {
    listener: TcpListener,
    service: S,
}

impl<S: Service> Application<S> {
    /// Connects the bus the settings name, binds `LISTEN_ADDR` (port 0 picks a free one) and
    /// builds the service.
    pub async fn build(config: S::Config) -> anyhow::Result<Self> {
        let bus = config.common().connect_bus().await?;
        Self::build_with_bus(config, bus).await
    }

    /// Like [`Self::build`] on a given bus.
    pub async fn build_with_bus(config: S::Config, bus: Arc<dyn EventBus>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.common().listen_addr).await?;
        let service = S::build(config, bus).await?;
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
    pub fn service(&self) -> &S {
        &self.service
    }

    /// Builds the service its settings describe and serves it until SIGTERM or Ctrl-C: what
    /// a service's binary does.
    pub async fn serve(config: S::Config) -> anyhow::Result<()> {
        Self::build(config)
            .await?
            .run_until_stopped(crate::http::serve::stop_on_signal())
            .await
    }

    /// Serves until `stop` is cancelled, then drains requests and the background work.
    pub async fn run_until_stopped(self, stop: CancellationToken) -> anyhow::Result<()> {
        let background = self.service.start_background(stop.clone()).await;
        let router = crate::http::serve::with_standard_layers(
            self.service
                .router()
                .merge(crate::http::ops::router(vec![self.service.readiness()])),
        );
        let settings = self.service.config().common();
        tracing::info!(
            addr = %self.listener.local_addr()?,
            "{} listening",
            <S::Config as ServiceConfig>::NAME
        );
        crate::http::serve::serve(
            self.listener,
            router,
            &settings.http,
            settings.trust_forwarded_for,
            stop,
        )
        .await?;
        background.await?;
        Ok(())
    }
}
