//! Every service's router on one port (accounts, chat, push notifications), on SQLite files
//! and one in-process bus.

use std::sync::Arc;

use shared::{
    events::{EventBus, InProcessBus},
    service::Service,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, signing_key, vapid_key};

/// The embedded default, ready to serve.
pub struct Bundle {
    listener: TcpListener,
    ops_listener: Option<TcpListener>,
    accounts: accounts_api::AccountsService,
    chat: chat_gateway::ChatService,
    notifier: notifier::NotifierService,
    http: shared::http::HttpLimits,
}

impl Bundle {
    /// Creates the data directory, signing key and VAPID key if needed, migrates the three
    /// databases, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => signing_key::load_or_create(&config.data_dir)?,
        };
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());

        let mut accounts_config =
            accounts_api::Config::with(config.sqlite_url("accounts.db")?, secret.clone());
        accounts_config.common.rate_limits = config.rate_limits;
        accounts_config.common.replica_id = Some("carinfo".into());
        accounts_config.rotate_refresh_tokens = config.rotate_refresh_tokens;
        let mut chat_config =
            chat_gateway::Config::with(config.sqlite_url("chat.db")?, secret.clone());
        chat_config.common.rate_limits = config.rate_limits;
        chat_config.common.replica_id = Some("carinfo".into());
        let vapid = match &config.vapid_private_key {
            Some(key) => key.clone(),
            None => vapid_key::load_or_create(&config.data_dir)?,
        };
        let mut notifier_config = notifier::Config::with(
            config.sqlite_url("notifier.db")?,
            secret,
            &notifier::push::VapidKey::from_setting(secrecy::ExposeSecret::expose_secret(&vapid))?,
        );
        notifier_config.common.rate_limits = config.rate_limits;
        notifier_config.common.replica_id = Some("carinfo".into());
        notifier_config.push_allow_private_endpoints = config.push_allow_private_endpoints;
        if let Some(subject) = &config.vapid_subject {
            notifier_config.vapid_subject = subject.clone();
        }

        let listener = TcpListener::bind(config.listen_addr).await?;
        let ops_listener = match config.ops_listen_addr {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let accounts = accounts_api::AccountsService::build(accounts_config, bus.clone()).await?;
        let chat = chat_gateway::ChatService::build(chat_config, bus.clone()).await?;
        let notifier = notifier::NotifierService::build(notifier_config, bus).await?;
        Ok(Self {
            listener,
            ops_listener,
            accounts,
            chat,
            notifier,
            http: config.http,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The bound port of `/readyz` and `/metrics`, when they are served.
    pub fn ops_port(&self) -> Option<u16> {
        self.ops_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// The accounts service, for the CLI and tests.
    pub fn accounts(&self) -> &accounts_api::AccountsService {
        &self.accounts
    }

    /// Serves until `stop` is cancelled.
    pub async fn run_until_stopped(self, stop: CancellationToken) -> anyhow::Result<()> {
        // Consumers subscribe before the relays that feed them start publishing: the
        // in-process bus keeps nothing for late subscribers. The notifier's consumer first
        // (chat's relay feeds it), then chat's owner projection (accounts' relay feeds it).
        let notifier_background = self.notifier.start_background(stop.clone()).await;
        let chat_background = self.chat.start_background(stop.clone()).await;
        let accounts_background = self.accounts.start_background(stop.clone()).await;
        let router = shared::http::serve::with_standard_layers(
            self.accounts
                .router()
                .merge(self.chat.router())
                .merge(self.notifier.router())
                .merge(shared::http::ops::liveness_router())
                .merge(crate::web::router()),
        );
        let public =
            shared::http::serve::serve(self.listener, router, &self.http, false, stop.clone());
        match self.ops_listener {
            Some(ops_listener) => {
                let readiness = vec![
                    self.accounts.readiness(),
                    self.chat.readiness(),
                    self.notifier.readiness(),
                ];
                let ops =
                    shared::http::serve::with_standard_layers(shared::http::ops::router(readiness));
                let ops =
                    shared::http::serve::serve(ops_listener, ops, &self.http, false, stop.clone());
                tokio::try_join!(public, ops)?;
            }
            None => public.await?,
        }
        chat_background.await?;
        accounts_background.await?;
        notifier_background.await?;
        Ok(())
    }
}
