//! accounts-api configuration: read once, from flags and environment variables, into a typed
//! struct that is passed to [`crate::app::AccountsService`]. The settings every service has
//! are [`ServiceSettings`]; the rest are the login throttle, argon2, token lifetimes and the
//! public profile cache.

use secrecy::SecretString;
use shared::{
    config::DatabaseUrl,
    service::{ServiceConfig, ServiceSettings},
};

/// One hash per core: more would only queue on the CPU while holding their memory.
fn default_hashers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Everything accounts-api can be told.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Listener, database, NATS, signing keys, rate-limit switch, logging.
    #[command(flatten)]
    pub common: ServiceSettings<Config>,
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
    /// argon2 hashes running at once (each holds `ARGON2_MEMORY_KIB`); default: the core count.
    #[arg(long, env = "ARGON2_MAX_CONCURRENT", default_value_t = default_hashers())]
    pub argon2_max_concurrent: usize,
    /// argon2 hashes waiting for a turn; beyond them a login or registration gets 429.
    #[arg(long, env = "ARGON2_MAX_QUEUED", default_value_t = 8)]
    pub argon2_max_queued: usize,
    /// Seconds a public profile held in memory may be served after the database read it came
    /// from (a backstop: changes reach every replica sooner through events); 0: no cache.
    #[arg(long, env = "PUBLIC_PROFILE_CACHE_TTL_SECS", default_value_t = 5)]
    pub public_profile_cache_ttl_secs: u64,
    /// Public profiles held in memory at most (about 400 bytes each).
    #[arg(
        long,
        env = "PUBLIC_PROFILE_CACHE_MAX_ENTRIES",
        default_value_t = 10_000
    )]
    pub public_profile_cache_max_entries: usize,
}

impl ServiceConfig for Config {
    const NAME: &'static str = "accounts-api";
    const LISTEN_ADDR: &'static str = "127.0.0.1:8001";
    const DATABASE_URL: &'static str = "sqlite://data/accounts.db";

    fn common(&self) -> &ServiceSettings<Self> {
        &self.common
    }
}

impl Config {
    /// The defaults with the given database and key on a free loopback port: what tests and
    /// the standalone bundle start from.
    pub fn with(database_url: DatabaseUrl, jwt_secret: SecretString) -> Self {
        Self {
            common: ServiceSettings::with(database_url, jwt_secret),
            ..shared::config::defaults()
        }
    }
}
