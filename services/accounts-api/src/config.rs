//! accounts-api configuration: read once, from flags and environment variables, into a typed
//! struct that is passed to [`crate::app::Application::build`].

use std::net::SocketAddr;

use secrecy::SecretString;
use shared::{
    config::{DatabaseUrl, RateLimits},
    http::HttpLimits,
};

/// One hash per core: more would only queue on the CPU while holding their memory.
fn default_hashers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

fn secret(value: &str) -> Result<SecretString, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

/// Everything accounts-api can be told.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8001")]
    pub listen_addr: SocketAddr,
    /// `postgres://…` or `sqlite://path/to/file.db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/accounts.db"
    )]
    pub database_url: DatabaseUrl,
    /// Postgres pool size.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pub database_max_connections: u32,
    /// NATS server; without it events go through an in-process bus.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// Prefix for every NATS subject and stream (several deployments on one NATS).
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = "")]
    pub nats_subject_prefix: String,
    /// Size bounds of the event streams.
    #[command(flatten)]
    pub nats_streams: shared::events::StreamLimits,
    /// NATS credentials (`NATS_USER`/`NATS_PASSWORD`, `NATS_TOKEN` or `NATS_CREDS_FILE`).
    #[command(flatten)]
    pub nats_auth: shared::events::NatsAuth,
    /// HS256 signing key shared with chat-gateway (required to serve).
    #[arg(long, env = "JWT_SECRET", value_parser = shared::config::SigningKeyParser, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Older signing keys still accepted while they rotate out (comma-separated).
    #[arg(long, env = "JWT_PREVIOUS_SECRETS", value_parser = secret, value_delimiter = ',', hide_env_values = true)]
    pub jwt_previous_secrets: Vec<SecretString>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_LIFETIME_SECS", default_value_t = 3600)]
    pub access_token_lifetime_secs: i64,
    /// Refresh token lifetime in seconds.
    #[arg(long, env = "REFRESH_TOKEN_LIFETIME_SECS", default_value_t = 7 * 24 * 3600)]
    pub refresh_token_lifetime_secs: i64,
    /// Return a new refresh token on refresh and refuse reuse of the old one.
    #[arg(long, env = "ROTATE_REFRESH_TOKENS", default_value_t = false, action = clap::ArgAction::Set)]
    pub rotate_refresh_tokens: bool,
    /// argon2id memory cost in KiB.
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
    /// argon2id lanes.
    #[arg(long, env = "ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,
    /// `off` switches every throttle off (load tests).
    #[arg(long, env = "RATE_LIMITS", default_value = "on")]
    pub rate_limits: RateLimits,
    /// Failed logins one client address may make against one phone number per window.
    #[arg(long, env = "LOGIN_FAILURES_PER_PHONE", default_value_t = 5)]
    pub login_failures_per_phone: u32,
    /// Failed logins one phone number may receive from all addresses together per window.
    #[arg(long, env = "LOGIN_FAILURES_PER_PHONE_TOTAL", default_value_t = 50)]
    pub login_failures_per_phone_total: u32,
    /// Failed logins allowed per client address (IPv6: per /64) per window.
    #[arg(long, env = "LOGIN_FAILURES_PER_ADDRESS", default_value_t = 100)]
    pub login_failures_per_address: u32,
    /// The login throttle's window in seconds.
    #[arg(long, env = "LOGIN_FAILURE_WINDOW_SECS", default_value_t = 900)]
    pub login_failure_window_secs: u64,
    /// Keys each throttle table holds at most (about 48 bytes each).
    #[arg(long, env = "THROTTLE_MAX_KEYS", default_value_t = shared::rate_limit::DEFAULT_MAX_KEYS)]
    pub throttle_max_keys: usize,
    /// argon2 hashes running at once (each holds `ARGON2_MEMORY_KIB`); default: the core count.
    #[arg(long, env = "ARGON2_MAX_CONCURRENT", default_value_t = default_hashers())]
    pub argon2_max_concurrent: usize,
    /// argon2 hashes waiting for a turn; beyond them a login or registration gets 429.
    #[arg(long, env = "ARGON2_MAX_QUEUED", default_value_t = 8)]
    pub argon2_max_queued: usize,
    /// Connection limits of the listener.
    #[command(flatten)]
    pub http: HttpLimits,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted ingress).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,
    /// This process's name in published events (`CarInfo-Origin`).
    #[arg(long, env = "REPLICA_ID")]
    pub replica_id: Option<String>,
}

impl Config {
    /// Defaults with the given database and key: what tests and the standalone bundle start from.
    pub fn with(database_url: DatabaseUrl, jwt_secret: SecretString) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            database_max_connections: 20,
            nats_url: None,
            nats_subject_prefix: String::new(),
            // Tests share one NATS server; see `StreamLimits::unbounded`.
            nats_streams: shared::events::StreamLimits::unbounded(),
            nats_auth: shared::events::NatsAuth::default(),
            jwt_secret: Some(jwt_secret),
            jwt_previous_secrets: Vec::new(),
            access_token_lifetime_secs: 3600,
            refresh_token_lifetime_secs: 7 * 24 * 3600,
            rotate_refresh_tokens: false,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            rate_limits: RateLimits::On,
            login_failures_per_phone: 5,
            login_failures_per_phone_total: 50,
            login_failures_per_address: 100,
            login_failure_window_secs: 900,
            throttle_max_keys: shared::rate_limit::DEFAULT_MAX_KEYS,
            argon2_max_concurrent: default_hashers(),
            argon2_max_queued: 8,
            http: HttpLimits::default(),
            trust_forwarded_for: false,
            replica_id: None,
        }
    }
}
