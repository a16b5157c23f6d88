//! Chat events as chat-gateway's relay publishes them: the catalogue's own types, through
//! their outbox rows.

use chrono::{DateTime, Utc};
use shared::{
    events::{
        catalog::{MessagePosted, OwnerSettingsChanged, RoomCreated, SenderType},
        Envelope,
    },
    ids::UserId,
};
use uuid::Uuid;

/// `chat.rooms.<room>.created`.
pub fn room_created(room_id: Uuid, owner_id: UserId, visitor_name: &str) -> Envelope {
    RoomCreated {
        room_id,
        owner_id,
        visitor_name: visitor_name.to_owned(),
        created_at: shared::time::now(),
    }
    .to_outbox()
    .to_envelope(Some("gateway-test"))
}

fn message(room_id: Uuid, owner_id: UserId, sender_type: SenderType, content: &str) -> Envelope {
    MessagePosted {
        id: Uuid::now_v7(),
        room_id,
        owner_id,
        sender_type,
        content: content.to_owned(),
        created_at: shared::time::now(),
    }
    .to_outbox()
    .to_envelope(Some("gateway-test"))
}

/// `chat.rooms.<room>.messages` from the visitor.
pub fn visitor_message(room_id: Uuid, owner_id: UserId, content: &str) -> Envelope {
    message(room_id, owner_id, SenderType::Visitor, content)
}

/// `chat.rooms.<room>.messages` from the owner.
pub fn owner_message(room_id: Uuid, owner_id: UserId, content: &str) -> Envelope {
    message(room_id, owner_id, SenderType::Owner, content)
}

/// `chat.owners.<owner>.settings`.
pub fn settings_changed(
    owner_id: UserId,
    accepting_messages: bool,
    quiet_until: Option<DateTime<Utc>>,
    version: i64,
) -> Envelope {
    OwnerSettingsChanged {
        owner_id,
        accepting_messages,
        quiet_until,
        version,
        updated_at: shared::time::now(),
    }
    .to_outbox()
    .to_envelope(Some("gateway-test"))
}
