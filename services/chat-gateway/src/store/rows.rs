//! Row shapes shared by both backends and their mapping into domain types.

use shared::{db::Timestamp, ids::UserId};
use uuid::Uuid;

use crate::domain::{
    ClientId, Message, MessageId, OwnerSettings, Room, RoomAccess, RoomId, SenderType,
    VisitorTokenHash,
};

/// `sender_type` column → domain.
pub fn sender_type(raw: &str) -> SenderType {
    SenderType::parse(raw).unwrap_or(SenderType::Visitor)
}

/// Domain → `sender_type` column.
pub fn sender_type_str(sender: SenderType) -> &'static str {
    sender.as_str()
}

/// The columns room queries select, in [`RoomRow`]'s order.
pub const ROOM_COLUMNS: &str = "id, owner_id, visitor_name, is_active, created_at, updated_at, \
    last_message_id, last_message_sender, last_message_content, last_message_at, unread_count, \
    message_count, visitor_last_read_id, is_blocked";

/// One `rooms` row.
#[derive(sqlx::FromRow)]
pub struct RoomRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub visitor_name: String,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_message_id: Option<Uuid>,
    pub last_message_sender: Option<String>,
    pub last_message_content: Option<String>,
    pub last_message_at: Option<Timestamp>,
    pub unread_count: i64,
    pub message_count: i64,
    pub visitor_last_read_id: Option<Uuid>,
    pub is_blocked: bool,
}

impl From<RoomRow> for Room {
    fn from(row: RoomRow) -> Self {
        let id = RoomId(row.id);
        let last_message = match (
            row.last_message_id,
            row.last_message_sender,
            row.last_message_content,
            row.last_message_at,
        ) {
            (Some(mid), Some(sender), Some(content), Some(at)) => Some(Message {
                id: MessageId(mid),
                room_id: id,
                sender_type: sender_type(&sender),
                content,
                created_at: at.0,
                // The newest message is the last in the room's order.
                position: row.message_count,
            }),
            _ => None,
        };
        Self {
            id,
            owner_id: UserId::from(row.owner_id),
            visitor_name: row.visitor_name,
            is_active: row.is_active,
            is_blocked: row.is_blocked,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            last_message,
            unread_count: row.unread_count,
            visitor_last_read_id: row.visitor_last_read_id.map(MessageId),
        }
    }
}

/// The columns of [`RoomAccessRow`].
pub const ROOM_ACCESS_COLUMNS: &str =
    "id, owner_id, visitor_token_hash, is_active, message_count, updated_at";

/// What authorisation reads.
#[derive(sqlx::FromRow)]
pub struct RoomAccessRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub visitor_token_hash: String,
    pub is_active: bool,
    pub message_count: i64,
    pub updated_at: Timestamp,
}

impl From<RoomAccessRow> for RoomAccess {
    fn from(row: RoomAccessRow) -> Self {
        Self {
            id: RoomId(row.id),
            owner_id: UserId::from(row.owner_id),
            visitor_token_hash: VisitorTokenHash(row.visitor_token_hash),
            is_active: row.is_active,
            message_count: row.message_count,
            last_activity: row.updated_at.0,
        }
    }
}

/// The columns of [`MessageRow`].
pub const MESSAGE_COLUMNS: &str = "id, room_id, sender_type, content, created_at, position";

/// One `messages` row.
#[derive(sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub sender_type: String,
    pub content: String,
    pub created_at: Timestamp,
    pub position: i64,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: MessageId(row.id),
            room_id: RoomId(row.room_id),
            sender_type: sender_type(&row.sender_type),
            content: row.content,
            created_at: row.created_at.0,
            position: row.position,
        }
    }
}

/// A stored message with its client id.
#[derive(sqlx::FromRow)]
pub struct ClientMessageRow {
    #[sqlx(flatten)]
    pub message: MessageRow,
    pub client_id: Uuid,
}

impl ClientMessageRow {
    pub fn keyed(self) -> ((RoomId, ClientId), Message) {
        let message = Message::from(self.message);
        ((message.room_id, ClientId(self.client_id)), message)
    }
}

/// One `owner_settings` row.
#[derive(sqlx::FromRow)]
pub struct OwnerSettingsRow {
    pub accepting_messages: bool,
    pub quiet_until: Option<Timestamp>,
    pub version: i64,
}

impl From<&OwnerSettingsRow> for OwnerSettings {
    fn from(row: &OwnerSettingsRow) -> Self {
        Self {
            accepting_messages: row.accepting_messages,
            quiet_until: row.quiet_until.map(|at| at.0),
        }
    }
}

/// A projected owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Id.
    pub id: UserId,
    /// Registered owners can be contacted.
    pub is_registered: bool,
    /// Profile visibility (rooms can be opened either way).
    pub is_profile_public: bool,
    /// Version of the last applied event.
    pub version: i64,
}

/// One `owners` row.
#[derive(sqlx::FromRow)]
pub struct OwnerRow {
    pub id: Uuid,
    pub is_registered: bool,
    pub is_profile_public: bool,
    pub version: i64,
}

impl From<OwnerRow> for Owner {
    fn from(row: OwnerRow) -> Self {
        Self {
            id: UserId::from(row.id),
            is_registered: row.is_registered,
            is_profile_public: row.is_profile_public,
            version: row.version,
        }
    }
}
