//! Chat storage: one trait of domain intents, its implementation on a
//! [`shared::db::Database`] (the same SQL on Postgres and SQLite but for the batch write of
//! messages), and the intent-level error both backends translate into.

mod batch;
mod message_log;
mod postgres;
pub mod rows;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use shared::{db::Schema, ids::UserId};

use crate::domain::{
    Message, MessageId, NewMessage, NewRoom, OwnerSettings, Room, RoomAccess, RoomControl, RoomId,
    SenderType, VisitorMarks,
};
pub use batch::{Committed, CommittedBatch};
use chrono::{DateTime, Utc};
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
    pub message: NewMessage,
    /// The room's owner (carried in the event).
    pub owner_id: UserId,
    /// The sender's trace, so the event carries it across the broker.
    pub traceparent: Option<String>,
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

    /// A room's messages after `position`, in order, at most `limit`.
    async fn list_messages_after(
        &self,
        room: RoomId,
        position: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError>;

    /// One message of a room.
    async fn find_message(
        &self,
        room: RoomId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError>;

    /// Commits a batch of messages and their rooms' activity in one transaction, each in its
    /// room's order, except messages whose client id the room already holds; the relay of
    /// [`Self::message_log`] publishes their events.
    async fn insert_messages(&self, batch: &[PendingMessage])
        -> Result<CommittedBatch, StoreError>;

    /// The messages table as the log of their events, relayed as `holder`.
    fn message_log(&self, holder: String) -> MessageLog;

    /// The owner has opened the room: nothing in it counts as unread; the room as it is now,
    /// if that changed it. The owner's read position (what the visitor sees as "seen") moves
    /// only with [`Self::mark_read`], which is told to the room.
    async fn mark_read_by_owner(&self, room: RoomId) -> Result<Option<Room>, StoreError>;

    /// `side` has read `message` (of `room`) and everything before it; the room as it is now,
    /// if that moved the side's read position forward.
    async fn mark_read(
        &self,
        room: RoomId,
        side: SenderType,
        message: &Message,
    ) -> Result<Option<Room>, StoreError>;

    /// Applies `control` to `room` and returns the room as it is now; a block also refuses
    /// the room's visitor new rooms with the owner until `block_until`. `Conflict` for
    /// reopening a blocked room; `NotFound` for no such room.
    async fn control_room(
        &self,
        room: RoomId,
        control: RoomControl,
        block_until: DateTime<Utc>,
    ) -> Result<Room, StoreError>;

    /// Whether `owner` has blocked a visitor with any of `marks`, and the block still holds at
    /// `now`.
    async fn is_visitor_blocked(
        &self,
        owner: UserId,
        marks: &VisitorMarks,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// An owner's chat settings (the defaults when never set).
    async fn owner_settings(&self, owner: UserId) -> Result<OwnerSettings, StoreError>;

    /// Stores an owner's chat settings and queues `chat.owners.<id>.settings`, atomically.
    async fn save_owner_settings(
        &self,
        owner: UserId,
        settings: OwnerSettings,
    ) -> Result<OwnerSettings, StoreError>;

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
    #[test]
    fn both_backends_have_the_same_migrations() {
        let postgres = shared::testing::migration_names("chat", "postgres");
        assert!(!postgres.is_empty());
        assert_eq!(postgres, shared::testing::migration_names("chat", "sqlite"));
    }
}
