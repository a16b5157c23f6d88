//! The settings every service reads the same way; each service flattens them into its
//! `Config` beside its own, with its own listen address and database file as defaults.

use std::{marker::PhantomData, net::SocketAddr};

use secrecy::SecretString;

use crate::{
    config::{DatabaseUrl, RateLimits},
    events::{NatsAuth, StreamLimits},
    http::HttpLimits,
    telemetry::TelemetryArgs,
};

/// A service's `Config`: its name, its defaults, and where its shared settings are.
pub trait ServiceConfig: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The service's name: logs, metrics, the relay and the default event origin.
    const NAME: &'static str;
    /// `LISTEN_ADDR` when unset.
    const LISTEN_ADDR: &'static str;
    /// `DATABASE_URL` when unset.
    const DATABASE_URL: &'static str;

    /// The settings every service has.
    fn common(&self) -> &ServiceSettings<Self>;
}

fn secret(value: &str) -> Result<SecretString, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

/// Listener, database, NATS, signing keys, the rate-limit switch and logging.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceSettings<C: ServiceConfig> {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = C::LISTEN_ADDR)]
    pub listen_addr: SocketAddr,
    /// `postgres://…` or `sqlite://path/to/file.db`.
    #[arg(long, env = "DATABASE_URL", default_value = C::DATABASE_URL)]
    pub database_url: DatabaseUrl,
    /// Postgres pool size.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pub database_max_connections: u32,
    /// NATS server; without it events go through an in-process bus (one process only).
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// Prefix for every NATS subject and stream (several deployments on one NATS).
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = "")]
    pub nats_subject_prefix: String,
    /// Size bounds of the event streams.
    #[command(flatten)]
    pub nats_streams: StreamLimits,
    /// NATS credentials (`NATS_USER`/`NATS_PASSWORD`, `NATS_TOKEN` or `NATS_CREDS_FILE`).
    #[command(flatten)]
    pub nats_auth: NatsAuth,
    /// The HS256 signing key both services share (required to serve).
    #[arg(long, env = "JWT_SECRET", value_parser = crate::config::SigningKeyParser, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Older signing keys still accepted while they rotate out (comma-separated).
    #[arg(long, env = "JWT_PREVIOUS_SECRETS", value_parser = secret, value_delimiter = ',', hide_env_values = true)]
    pub jwt_previous_secrets: Vec<SecretString>,
    /// `off` switches every throttle and rate limit off (load tests).
    #[arg(long, env = "RATE_LIMITS", default_value = "on")]
    pub rate_limits: RateLimits,
    /// Keys each throttle table holds at most (about 48 bytes each).
    #[arg(long, env = "THROTTLE_MAX_KEYS", default_value_t = crate::rate_limit::DEFAULT_MAX_KEYS)]
    pub throttle_max_keys: usize,
    /// Connection limits of the listener.
    #[command(flatten)]
    pub http: HttpLimits,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted ingress).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,
    /// This process's name in published events (`CarInfo-Origin`); random when unset.
    #[arg(long, env = "REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Log format and trace export.
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[arg(skip)]
    service: PhantomData<C>,
}

impl<C: ServiceConfig> ServiceSettings<C> {
    /// The signing key; serving without one is refused at start.
    pub fn key_ring(&self) -> anyhow::Result<crate::auth::KeyRing> {
        let secret = self
            .jwt_secret
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("JWT_SECRET is required"))?;
        Ok(crate::auth::KeyRing::new(
            secret,
            &self.jwt_previous_secrets,
        ))
    }

    /// This process's name in the events it publishes.
    pub fn origin(&self) -> String {
        self.replica_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", C::NAME, uuid::Uuid::new_v4().simple()))
    }

    /// Connects to the database these settings name and migrates it.
    pub async fn connect_database<S: ?Sized>(
        &self,
        schema: &crate::db::Schema<S>,
    ) -> anyhow::Result<crate::db::Database> {
        crate::db::Database::connect(&self.database_url, self.database_max_connections, schema)
            .await
    }

    /// The bus these settings name: NATS when `NATS_URL` is set, else in-process.
    pub async fn connect_bus(&self) -> anyhow::Result<std::sync::Arc<dyn crate::events::EventBus>> {
        Ok(crate::events::connect_bus(
            self.nats_url.as_deref(),
            &self.nats_subject_prefix,
            &self.nats_streams,
            &self.nats_auth,
        )
        .await?)
    }

    /// The defaults with the given database and key on a free loopback port: what tests and
    /// the standalone bundle start from. Streams are unbounded because tests share one NATS
    /// server (see [`StreamLimits::unbounded`]).
    pub fn with(database_url: DatabaseUrl, jwt_secret: SecretString) -> Self {
        let mut settings: Self = crate::config::defaults();
        settings.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.database_url = database_url;
        settings.jwt_secret = Some(jwt_secret);
        settings.nats_streams = StreamLimits::unbounded();
        settings
    }
}
