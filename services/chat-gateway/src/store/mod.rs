//! Chat storage: one trait of domain intents, its implementation on a
//! [`shared::db::Database`] (the same SQL on Postgres and SQLite but for the batch write of
//! messages), and the intent-level error both backends translate into.

mod message_log;
mod postgres;
pub mod rows;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use shared::{db::Schema, ids::UserId};

use crate::domain::{Message, MessageId, NewRoom, Room, RoomAccess, RoomId, SenderType};
pub use message_log::MessageLog;
pub use rows::Owner;

/// What went wrong, named for what the caller must do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule.
    #[error("conflict")]
    Conflict,
    /// The database cannot be reached: 503.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a bug.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(error, sqlx::Error::RowNotFound) {
            return Self::NotFound;
        }
        if shared::db::unique_violation(&error).is_some() {
            return Self::Conflict;
        }
        if shared::db::is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Other(error)
        }
    }
}

/// A message with the owner of its room, as the writer commits it.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    /// The message.
    pub message: Message,
    /// The room's owner (carried in the event).
    pub owner_id: UserId,
    /// The sender's trace, so the event carries it across the broker.
    pub traceparent: Option<String>,
}

/// How one committed batch changes one room's inbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomActivity {
    /// The room.
    pub room_id: RoomId,
    /// Its newest message in the batch.
    pub last: Message,
    /// The owner wrote in this batch: unread restarts from `added`.
    pub reset_unread: bool,
    /// Visitor messages since the owner last wrote.
    pub added_unread: i64,
    /// Messages of the room in the batch.
    pub added_messages: i64,
}

/// Folds a batch into one activity per room, sorted by room id so concurrent batches lock
/// rooms in the same order.
pub fn room_activity(batch: &[PendingMessage]) -> Vec<RoomActivity> {
    let mut by_room: std::collections::BTreeMap<uuid::Uuid, RoomActivity> = Default::default();
    for pending in batch {
        let m = &pending.message;
        let entry = by_room.entry(m.room_id.0).or_insert_with(|| RoomActivity {
            room_id: m.room_id,
            last: m.clone(),
            reset_unread: false,
            added_unread: 0,
            added_messages: 0,
        });
        entry.last = m.clone();
        entry.added_messages += 1;
        match m.sender_type {
            SenderType::Owner => {
                entry.reset_unread = true;
                entry.added_unread = 0;
            }
            SenderType::Visitor => entry.added_unread += 1,
        }
    }
    by_room.into_values().collect()
}

/// The preview kept on the room for the inbox.
pub fn preview(content: &str) -> String {
    content.chars().take(PREVIEW_CHARS).collect()
}

/// Characters of the last message shown in the room list.
pub const PREVIEW_CHARS: usize = 120;

/// At most this many rooms are listed, newest activity first.
pub const ROOM_LIST_LIMIT: i64 = 500;

/// Everything chat-gateway stores.
#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    /// Applies an owner snapshot unless a newer one is already stored (idempotent).
    async fn upsert_owner(&self, owner: &Owner) -> Result<(), StoreError>;

    /// A projected owner.
    async fn find_owner(&self, id: UserId) -> Result<Option<Owner>, StoreError>;

    /// Creates a room and queues `chat.rooms.<id>.created`, atomically.
    async fn create_room(&self, room: &NewRoom) -> Result<Room, StoreError>;

    /// What authorising access to a room needs.
    async fn find_room_access(&self, id: RoomId) -> Result<Option<RoomAccess>, StoreError>;

    /// An owner's rooms, most recent activity first.
    async fn list_rooms_for_owner(&self, owner: UserId) -> Result<Vec<Room>, StoreError>;

    /// A room's messages, oldest first, optionally after a message and limited.
    async fn list_messages(
        &self,
        room: RoomId,
        after: Option<MessageId>,
        limit: Option<i64>,
    ) -> Result<Vec<Message>, StoreError>;

    /// A room's latest `limit` messages, oldest first.
    async fn list_recent_messages(
        &self,
        room: RoomId,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError>;

    /// Commits a batch of messages and their rooms' activity in one transaction; the relay of
    /// [`Self::message_log`] publishes their events.
    async fn insert_messages(&self, batch: &[PendingMessage]) -> Result<(), StoreError>;

    /// The messages table as the log of their events, relayed as `holder`.
    fn message_log(&self, holder: String) -> MessageLog;

    /// The owner has seen the room.
    async fn mark_read_by_owner(&self, room: RoomId) -> Result<(), StoreError>;

    /// A value of the projection state, created with `default` when absent.
    async fn projection_value(&self, name: &str, default: &str) -> Result<String, StoreError>;
}

/// The chat schema on both backends, and the store on it.
pub static SCHEMA: Schema<dyn ChatStore> = Schema {
    postgres: sqlx::migrate!("../../migrations/chat/postgres"),
    sqlite: sqlx::migrate!("../../migrations/chat/sqlite"),
    store: |db| Arc::new(sql::SqlStore::new(db)),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MessageText;

    fn pending(room: RoomId, sender: SenderType) -> PendingMessage {
        PendingMessage {
            message: Message::new(room, sender, MessageText::parse("x").unwrap()),
            owner_id: UserId::new_random(),
            traceparent: None,
        }
    }

    #[test]
    fn activity_counts_visitor_messages_since_the_owner_last_wrote() {
        let a = RoomId::generate();
        let b = RoomId::generate();
        let batch = vec![
            pending(a, SenderType::Visitor),
            pending(a, SenderType::Owner),
            pending(a, SenderType::Visitor),
            pending(b, SenderType::Visitor),
            pending(b, SenderType::Visitor),
        ];
        let activity = room_activity(&batch);
        let of = |room: RoomId| activity.iter().find(|x| x.room_id == room).unwrap();
        assert!(of(a).reset_unread);
        assert_eq!(of(a).added_unread, 1);
        assert_eq!(of(a).last, batch[2].message);
        assert!(!of(b).reset_unread);
        assert_eq!(of(b).added_unread, 2);
        assert_eq!(of(a).added_messages, 3);
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let postgres = shared::testing::migration_names("chat", "postgres");
        assert!(!postgres.is_empty());
        assert_eq!(postgres, shared::testing::migration_names("chat", "sqlite"));
    }
}
