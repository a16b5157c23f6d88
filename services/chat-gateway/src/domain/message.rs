//! Messages: committed chat lines with a stable id and a place in their room's order.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{MessageText, RoomId, SenderType};

/// A message id: UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, derive_more::Display)]
pub struct MessageId(pub Uuid);

impl MessageId {
    /// A new id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

/// The id a client gives its message so that a resend is stored once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, derive_more::Display)]
pub struct ClientId(pub Uuid);

/// A message before its commit: its room's order and its time are given by the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Id.
    pub id: MessageId,
    /// Room.
    pub room_id: RoomId,
    /// Visitor or owner.
    pub sender_type: SenderType,
    /// Text.
    pub content: String,
    /// The sender's id for it, if it gave one.
    pub client_id: Option<ClientId>,
}

impl NewMessage {
    /// A new message with a fresh id.
    pub fn new(
        room_id: RoomId,
        sender_type: SenderType,
        text: MessageText,
        client_id: Option<ClientId>,
    ) -> Self {
        Self {
            id: MessageId::generate(),
            room_id,
            sender_type,
            content: text.into_inner(),
            client_id,
        }
    }
}

impl NewMessage {
    /// The message as stored at `created_at`, `position`-th in its room.
    pub fn stored(&self, created_at: DateTime<Utc>, position: i64) -> Message {
        Message {
            id: self.id,
            room_id: self.room_id,
            sender_type: self.sender_type,
            content: self.content.clone(),
            created_at,
            position,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// Room.
    pub room_id: RoomId,
    /// Visitor or owner.
    pub sender_type: SenderType,
    /// Text.
    pub content: String,
    /// Commit time; never earlier than the room's previous message.
    pub created_at: DateTime<Utc>,
    /// Its place in the room: 1 for the first message, then one more for each.
    pub position: i64,
}
