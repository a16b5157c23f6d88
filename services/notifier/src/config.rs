//! notifier configuration: read once, from flags and environment variables, into a typed
//! struct that is passed to [`crate::app::NotifierService`]. The settings every service has
//! are [`ServiceSettings`]; the rest are the VAPID key, where endpoints may lead, coalescing
//! and the sender's bounds.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use shared::{
    config::DatabaseUrl,
    service::{ServiceConfig, ServiceSettings},
};

use crate::push::VapidKey;

fn vapid_subject(value: &str) -> Result<String, String> {
    if value.starts_with("mailto:") || value.starts_with("https://") {
        Ok(value.to_owned())
    } else {
        Err("must be a mailto: or https: URL (RFC 8292)".into())
    }
}

/// Everything the notifier can be told.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Listener, database, NATS, signing keys, rate-limit switch, logging.
    #[command(flatten)]
    pub common: ServiceSettings<Config>,
    /// The VAPID private key: base64url of the 32-byte P-256 scalar, or a PEM file's path
    /// (required to serve; the standalone bundle generates one into its data directory).
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<SecretString>,
    /// Contact for push services (the VAPID `sub`): a mailto: or https: URL.
    #[arg(long, env = "VAPID_SUBJECT", default_value = "mailto:push@carinfo.example", value_parser = vapid_subject)]
    pub vapid_subject: String,
    /// Name of the durable JetStream consumer on `chat.>` (replicas share it).
    #[arg(long, env = "NOTIFIER_CONSUMER", default_value = "notifier")]
    pub notifier_consumer: String,
    /// Accept `http` endpoints and hosts on loopback, private and link-local addresses
    /// (tests, a push service of one's own); never on a public deployment.
    #[arg(long, env = "PUSH_ALLOW_PRIVATE_ENDPOINTS", default_value_t = false, action = clap::ArgAction::Set)]
    pub push_allow_private_endpoints: bool,
    /// Subscriptions one owner may hold (one per browser or device).
    #[arg(long, env = "PUSH_MAX_SUBSCRIPTIONS_PER_OWNER", default_value_t = 10)]
    pub push_max_subscriptions_per_owner: u32,
    /// A room notifies at most once per this many seconds; visitor messages in between are
    /// coalesced into one notification with the latest preview.
    #[arg(long, env = "PUSH_COALESCE_SECS", default_value_t = 30)]
    pub push_coalesce_secs: u64,
    /// How long a push service keeps an undelivered notification (`TTL`, seconds).
    #[arg(long, env = "PUSH_TTL_SECS", default_value_t = 86400)]
    pub push_ttl_secs: u64,
    /// Room and message events older than this many seconds are not notified (a fresh
    /// consumer replays the stream; a notification that late helps nobody).
    #[arg(long, env = "PUSH_MAX_EVENT_AGE_SECS", default_value_t = 600)]
    pub push_max_event_age_secs: u64,
    /// Push requests in flight at once.
    #[arg(long, env = "PUSH_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub push_concurrency: u32,
    /// Seconds one push request may take, connection included.
    #[arg(long, env = "PUSH_SEND_TIMEOUT_SECS", default_value_t = 10)]
    pub push_send_timeout_secs: u64,
    /// Attempts per delivery before it is given up (429, 5xx, no answer).
    #[arg(long, env = "PUSH_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub push_max_attempts: u32,
    /// The first retry's delay in milliseconds; it doubles with each attempt.
    #[arg(long, env = "PUSH_RETRY_BASE_MS", default_value_t = 2000)]
    pub push_retry_base_ms: u64,
    /// The longest wait before a retry, `Retry-After` included (seconds).
    #[arg(long, env = "PUSH_RETRY_MAX_SECS", default_value_t = 600)]
    pub push_retry_max_secs: u64,
}

/// `secs` as a chrono duration, bounded by a century (chrono refuses far larger ones).
fn seconds(secs: u64) -> chrono::Duration {
    const CENTURY: i64 = 100 * 365 * 86_400;
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(CENTURY).min(CENTURY))
}

impl ServiceConfig for Config {
    const NAME: &'static str = "notifier";
    const LISTEN_ADDR: &'static str = "127.0.0.1:8003";
    const DATABASE_URL: &'static str = "sqlite://data/notifier.db";

    fn common(&self) -> &ServiceSettings<Self> {
        &self.common
    }
}

impl Config {
    /// The defaults with the given database, signing key and VAPID key on a free loopback
    /// port: what tests and the standalone bundle start from.
    pub fn with(database_url: DatabaseUrl, jwt_secret: SecretString, vapid: &VapidKey) -> Self {
        Self {
            common: ServiceSettings::with(database_url, jwt_secret),
            vapid_private_key: Some(SecretString::from(vapid.to_base64url())),
            ..shared::config::defaults()
        }
    }

    /// The VAPID key; serving without one is refused at start.
    pub fn vapid_key(&self) -> anyhow::Result<VapidKey> {
        let value = self
            .vapid_private_key
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("VAPID_PRIVATE_KEY is required"))?;
        VapidKey::from_setting(value.expose_secret())
    }

    /// The coalescing window.
    pub fn coalesce_window(&self) -> chrono::Duration {
        seconds(self.push_coalesce_secs)
    }

    /// How old a room or message event may be and still be notified.
    pub fn max_event_age(&self) -> chrono::Duration {
        seconds(self.push_max_event_age_secs)
    }

    /// The bound of one push request.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.push_send_timeout_secs.max(1))
    }
}
