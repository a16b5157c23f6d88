//! chat-gateway configuration: read once, from flags and environment variables, into a typed
//! struct that is passed to [`crate::app::ChatService`]. The settings every service has are
//! [`ServiceSettings`]; the rest are the chat's own limits and the writers.

use secrecy::{ExposeSecret, SecretString};
use shared::{
    config::DatabaseUrl,
    service::{ServiceConfig, ServiceSettings},
};

/// Everything chat-gateway can be told.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Listener, database, NATS, signing keys, rate-limit switch, logging.
    #[command(flatten)]
    pub common: ServiceSettings<Config>,
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
    /// Concurrent group-commit writers (Postgres; SQLite always uses one). One writer makes the
    /// largest batches, so the fewest commits: more pay only with more cores and a database
    /// that commits in parallel faster than it commits larger batches.
    #[arg(long, env = "MESSAGE_WRITERS", default_value_t = 1)]
    pub message_writers: usize,
    /// Changes an owner may make per minute: closing, reopening, blocking and unblocking
    /// rooms, and saving settings (each is told to every replica and may publish an event).
    #[arg(long, env = "OWNER_ACTIONS_PER_MINUTE", default_value_t = 60)]
    pub owner_actions_per_minute: u32,
    /// How long a block keeps a visitor's browser and address from opening a new room with
    /// the owner.
    #[arg(long, env = "VISITOR_BLOCK_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub visitor_block_days: u32,
}

impl ServiceConfig for Config {
    const NAME: &'static str = "chat-gateway";
    const LISTEN_ADDR: &'static str = "127.0.0.1:8002";
    const DATABASE_URL: &'static str = "sqlite://data/chat.db";

    fn common(&self) -> &ServiceSettings<Self> {
        &self.common
    }
}

impl Config {
    /// How long a room may sit idle before its visitor token is refused.
    pub fn visitor_token_idle(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.visitor_token_idle_days))
    }

    /// How long a block lasts.
    pub fn visitor_block(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.visitor_block_days))
    }

    /// The key of the visitor marks' hashes: the signing key, which every replica shares.
    pub fn visitor_mark_key(&self) -> &[u8] {
        self.common
            .jwt_secret
            .as_ref()
            .map_or(&[][..], |secret| secret.expose_secret().as_bytes())
    }

    /// The defaults with the given database and key on a free loopback port: what tests and
    /// the standalone bundle start from.
    pub fn with(database_url: DatabaseUrl, jwt_secret: SecretString) -> Self {
        Self {
            common: ServiceSettings::with(database_url, jwt_secret),
            ..shared::config::defaults()
        }
    }
}
