//! Domain → event: the chat events a change produces.

use shared::events::{catalog::RoomCreated, outbox::OutboxEvent};

use crate::domain::Room;

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
