//! chat-gateway configuration: read once, from flags and environment variables, into a typed
//! struct that is passed to [`crate::app::Application::build`].

use std::net::SocketAddr;

use secrecy::SecretString;
use shared::{
    config::{DatabaseUrl, RateLimits},
    http::HttpLimits,
};

fn secret(value: &str) -> Result<SecretString, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

/// Everything chat-gateway can be told.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8002")]
    pub listen_addr: SocketAddr,
    /// `postgres://…` or `sqlite://path/to/file.db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/chat.db")]
    pub database_url: DatabaseUrl,
    /// Postgres pool size.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pub database_max_connections: u32,
    /// NATS server; without it events go through an in-process bus (single replica only).
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// Prefix for every NATS subject and stream.
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = "")]
    pub nats_subject_prefix: String,
    /// Size bounds of the event streams.
    #[command(flatten)]
    pub nats_streams: shared::events::StreamLimits,
    /// NATS credentials (`NATS_USER`/`NATS_PASSWORD`, `NATS_TOKEN` or `NATS_CREDS_FILE`).
    #[command(flatten)]
    pub nats_auth: shared::events::NatsAuth,
    /// The HS256 key accounts-api signs with (required to serve).
    #[arg(long, env = "JWT_SECRET", value_parser = shared::config::SigningKeyParser, hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Older keys still accepted (comma-separated).
    #[arg(long, env = "JWT_PREVIOUS_SECRETS", value_parser = secret, value_delimiter = ',', hide_env_values = true)]
    pub jwt_previous_secrets: Vec<SecretString>,
    /// `off` switches the chat-start limit and per-socket limits off (load tests).
    #[arg(long, env = "RATE_LIMITS", default_value = "on")]
    pub rate_limits: RateLimits,
    /// Rooms a client address (IPv6: a /64) may open per minute (generous: mobile carriers
    /// share addresses).
    #[arg(long, env = "CHAT_STARTS_PER_MINUTE", default_value_t = 120)]
    pub chat_starts_per_minute: u32,
    /// Rooms a client address may open with one owner per hour, so one visitor cannot bury
    /// an owner's inbox.
    #[arg(long, env = "CHAT_STARTS_PER_OWNER_PER_HOUR", default_value_t = 10)]
    pub chat_starts_per_owner_per_hour: u32,
    /// Sustained messages per second per participant of a room (all their sockets together).
    #[arg(long, env = "WS_MESSAGES_PER_SECOND", default_value_t = 10)]
    pub ws_messages_per_second: u32,
    /// Burst of messages per participant.
    #[arg(long, env = "WS_MESSAGE_BURST", default_value_t = 30)]
    pub ws_message_burst: u32,
    /// Sockets one participant (a visitor token, or the owner) may hold on one room.
    #[arg(long, env = "WS_SOCKETS_PER_TOKEN", default_value_t = 3)]
    pub ws_sockets_per_token: usize,
    /// Sockets one room may have on this replica, both sides together.
    #[arg(long, env = "WS_SOCKETS_PER_ROOM", default_value_t = 6)]
    pub ws_sockets_per_room: usize,
    /// Messages a room may hold; the sender of one more gets an error frame.
    #[arg(long, env = "ROOM_MAX_MESSAGES", default_value_t = 10_000)]
    pub room_max_messages: i64,
    /// Keys each throttle table holds at most (about 48 bytes each).
    #[arg(long, env = "THROTTLE_MAX_KEYS", default_value_t = shared::rate_limit::DEFAULT_MAX_KEYS)]
    pub throttle_max_keys: usize,
    /// Seconds between server pings.
    #[arg(long, env = "WS_PING_INTERVAL_SECS", default_value_t = 30)]
    pub ws_ping_interval_secs: u64,
    /// A socket silent this long (no frame, no pong) is closed.
    #[arg(long, env = "WS_IDLE_TIMEOUT_SECS", default_value_t = 120)]
    pub ws_idle_timeout_secs: u64,
    /// Outgoing frames queued per socket before it counts as a slow reader and is closed.
    #[arg(long, env = "WS_SEND_QUEUE", default_value_t = 256)]
    pub ws_send_queue: usize,
    /// Days without activity in a room after which its visitor token is refused.
    #[arg(long, env = "VISITOR_TOKEN_IDLE_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub visitor_token_idle_days: u32,
    /// Connection limits of the listener.
    #[command(flatten)]
    pub http: HttpLimits,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted ingress).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,
    /// This replica's name (`CarInfo-Origin` header); random when unset.
    #[arg(long, env = "REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Concurrent group-commit writers (Postgres; SQLite always uses one).
    #[arg(long, env = "MESSAGE_WRITERS", default_value_t = 4)]
    pub message_writers: usize,
}

impl Config {
    /// How long a room may sit idle before its visitor token is refused.
    pub fn visitor_token_idle(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.visitor_token_idle_days))
    }

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
            rate_limits: RateLimits::On,
            chat_starts_per_minute: 120,
            chat_starts_per_owner_per_hour: 10,
            ws_messages_per_second: 10,
            ws_message_burst: 30,
            ws_sockets_per_token: 3,
            ws_sockets_per_room: 6,
            room_max_messages: 10_000,
            throttle_max_keys: shared::rate_limit::DEFAULT_MAX_KEYS,
            http: HttpLimits::default(),
            ws_ping_interval_secs: 30,
            ws_idle_timeout_secs: 120,
            ws_send_queue: 256,
            visitor_token_idle_days: 30,
            trust_forwarded_for: false,
            replica_id: None,
            message_writers: 4,
        }
    }
}
