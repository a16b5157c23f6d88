//! Domain ⇄ event: the chat events a change produces, and messages other replicas committed.

use shared::{
    events::{
        catalog::{self, MessagePosted, RoomCreated},
        outbox::OutboxEvent,
    },
    ids::UserId,
};

use crate::domain::{Message, MessageId, Room, RoomId, SenderType};

/// `chat.rooms.<id>.created`.
pub fn room_created(room: &Room) -> OutboxEvent {
    RoomCreated {
        room_id: room.id.0,
        owner_id: room.owner_id,
        visitor_name: room.visitor_name.clone(),
        created_at: room.created_at,
    }
    .to_outbox()
}

/// `chat.rooms.<id>.messages`: what other services and replicas receive.
pub fn message_posted(message: &Message, owner_id: UserId) -> MessagePosted {
    MessagePosted {
        id: message.id.0,
        room_id: message.room_id.0,
        owner_id,
        sender_type: message.sender_type.into(),
        content: message.content.clone(),
        created_at: message.created_at,
    }
}

/// A message committed on another replica.
pub fn message_from_event(event: MessagePosted) -> Message {
    Message {
        id: MessageId(event.id),
        room_id: RoomId(event.room_id),
        sender_type: event.sender_type.into(),
        content: event.content,
        created_at: event.created_at,
    }
}

impl From<SenderType> for catalog::SenderType {
    fn from(sender: SenderType) -> Self {
        match sender {
            SenderType::Visitor => Self::Visitor,
            SenderType::Owner => Self::Owner,
        }
    }
}

impl From<catalog::SenderType> for SenderType {
    fn from(sender: catalog::SenderType) -> Self {
        match sender {
            catalog::SenderType::Visitor => Self::Visitor,
            catalog::SenderType::Owner => Self::Owner,
        }
    }
}
