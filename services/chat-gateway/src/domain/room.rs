//! Rooms: one visitor talking to one owner.

use chrono::{DateTime, Duration, Utc};
use shared::ids::UserId;
use uuid::Uuid;

use super::{
    message::{Message, MessageId},
    VisitorMarks, VisitorTokenHash,
};

/// A room id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, derive_more::Display)]
pub struct RoomId(pub Uuid);

impl RoomId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a path segment; `None` when it is not a UUID.
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

impl std::str::FromStr for RoomId {
    type Err = uuid::Error;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(raw.trim()).map(Self)
    }
}

/// The visitor's optional name: trimmed, at most 100 characters, "" when not given.
#[derive(Debug, Clone, PartialEq, Eq, Default, derive_more::Display, derive_more::AsRef)]
#[as_ref(str)]
pub struct VisitorName(String);

impl VisitorName {
    /// Longest name.
    pub const MAX_CHARS: usize = 100;

    /// Wraps a name that has passed the field checks.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        (trimmed.chars().count() <= Self::MAX_CHARS).then(|| Self(trimmed.to_owned()))
    }
}

/// A room to create.
#[derive(Debug, Clone)]
pub struct NewRoom {
    /// Its id.
    pub id: RoomId,
    /// The owner contacted.
    pub owner_id: UserId,
    /// The visitor's name.
    pub visitor_name: VisitorName,
    /// Hash of the visitor's token.
    pub visitor_token_hash: VisitorTokenHash,
    /// How the visitor is recognised should the owner block them.
    pub visitor_marks: VisitorMarks,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A room as the owner's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// Id.
    pub id: RoomId,
    /// Owner.
    pub owner_id: UserId,
    /// Visitor's name.
    pub visitor_name: String,
    /// Open for the visitor's messages.
    pub is_active: bool,
    /// The owner blocked the visitor (the room is closed too).
    pub is_blocked: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last activity (moves with every message).
    pub updated_at: DateTime<Utc>,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// Visitor messages the owner has not seen.
    pub unread_count: i64,
    /// The last message the visitor has read.
    pub visitor_last_read_id: Option<MessageId>,
}

/// What authorising access to a room needs.
#[derive(Debug, Clone)]
pub struct RoomAccess {
    /// Id.
    pub id: RoomId,
    /// Owner.
    pub owner_id: UserId,
    /// Hash of the visitor token.
    pub visitor_token_hash: VisitorTokenHash,
    /// Open for messages.
    pub is_active: bool,
    /// Messages committed so far.
    pub message_count: i64,
    /// The room's last activity (`updated_at`: creation, then every message).
    pub last_activity: DateTime<Utc>,
}

impl RoomAccess {
    /// Whether the room's visitor token has lapsed: nothing happened in the room for longer
    /// than `idle`. The token is a bearer credential kept in a browser for good; a room nobody
    /// uses any more should not stay open to whoever finds it. The owner is not affected.
    pub fn visitor_token_expired(&self, now: DateTime<Utc>, idle: Duration) -> bool {
        now - self.last_activity > idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(last_activity: DateTime<Utc>) -> RoomAccess {
        RoomAccess {
            id: RoomId::generate(),
            owner_id: UserId::new_random(),
            visitor_token_hash: VisitorTokenHash(String::new()),
            is_active: true,
            message_count: 0,
            last_activity,
        }
    }

    #[test]
    fn a_visitor_token_lapses_only_after_the_idle_period() {
        let now = Utc::now();
        let idle = Duration::days(30);
        assert!(!access(now).visitor_token_expired(now, idle));
        assert!(!access(now - idle).visitor_token_expired(now, idle));
        assert!(access(now - idle - Duration::seconds(1)).visitor_token_expired(now, idle));
    }
}
