//! What one client may make this replica do: open rooms (per address, and per address with one
//! owner), send messages (per participant of a room, whichever socket they come from), and
//! change rooms and settings (per owner).
//! `RATE_LIMITS=off` switches these off; the bounds on sockets and room size stay.

use std::time::Duration;

use shared::{
    http::{ApiError, ClientKey},
    ids::UserId,
    rate_limit::{retry_after_secs, KeyedLimiter, Quota},
};

use crate::{
    config::Config,
    domain::{RoomId, SenderType},
};

/// The gateway's rate limits.
pub struct RateLimiters {
    chat_starts: KeyedLimiter<ClientKey>,
    chat_starts_with_owner: KeyedLimiter<(ClientKey, UserId)>,
    messages: KeyedLimiter<(RoomId, SenderType)>,
    owner_actions: KeyedLimiter<UserId>,
}

fn throttled(wait: Duration) -> ApiError {
    ApiError::Throttled {
        wait_secs: retry_after_secs(wait),
    }
}

impl RateLimiters {
    /// The limits `config` describes.
    pub fn new(config: &Config) -> Self {
        let on = config.common.rate_limits.enabled();
        let max_keys = config.common.throttle_max_keys;
        Self {
            chat_starts: KeyedLimiter::bounded(
                Quota::per_window(config.chat_starts_per_minute, Duration::from_secs(60)),
                on,
                max_keys,
            ),
            chat_starts_with_owner: KeyedLimiter::bounded(
                Quota::per_window(
                    config.chat_starts_per_owner_per_hour,
                    Duration::from_secs(3600),
                ),
                on,
                max_keys,
            ),
            messages: KeyedLimiter::bounded(
                Quota {
                    capacity: f64::from(config.ws_message_burst.max(1)),
                    per_second: f64::from(config.ws_messages_per_second.max(1)),
                },
                on,
                max_keys,
            ),
            owner_actions: KeyedLimiter::bounded(
                Quota::per_window(config.owner_actions_per_minute, Duration::from_secs(60)),
                on,
                max_keys,
            ),
        }
    }

    /// Counts one change by `owner` (a room control, a settings save).
    pub fn owner_action(&self, owner: UserId) -> Result<(), ApiError> {
        self.owner_actions.check(&owner).map_err(throttled)
    }

    /// Counts a chat start from `client`, before anything else is looked at.
    pub fn chat_start(&self, client: ClientKey) -> Result<(), ApiError> {
        self.chat_starts.check(&client).map_err(throttled)
    }

    /// Counts a chat start from `client` with `owner`, once the owner is known to exist.
    pub fn chat_start_with_owner(&self, client: ClientKey, owner: UserId) -> Result<(), ApiError> {
        self.chat_starts_with_owner
            .check(&(client, owner))
            .map_err(throttled)
    }

    /// Counts one message of one side of a room; `false` when over the limit.
    pub fn message(&self, room: RoomId, sender: SenderType) -> bool {
        self.messages.check(&(room, sender)).is_ok()
    }
}
