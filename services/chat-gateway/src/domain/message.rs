//! Messages: committed chat lines with a stable, time-ordered id.

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
    /// Commit time.
    pub created_at: DateTime<Utc>,
}

impl Message {
    /// A new message, stamped now.
    pub fn new(room_id: RoomId, sender_type: SenderType, text: MessageText) -> Self {
        Self {
            id: MessageId::generate(),
            room_id,
            sender_type,
            content: text.into_inner(),
            created_at: shared::time::now(),
        }
    }
}
