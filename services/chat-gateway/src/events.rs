//! Domain ⇄ event: every chat event is built here, the durable ones a change commits with it
//! and the live copies the replicas hand each other.

use axum::extract::ws::Utf8Bytes;
use shared::events::{
    bus::{ORIGIN_HEADER, TRACEPARENT_HEADER},
    catalog::{self, MessagePosted, RoomCreated},
    outbox::OutboxEvent,
    Envelope,
};

use crate::{
    domain::{MessageId, Room, SenderType},
    store::PendingMessage,
};

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

/// `chat.rooms.<id>.messages`: the durable event other services receive, serialised once,
/// with the sender's trace.
pub fn message_posted(pending: &PendingMessage) -> OutboxEvent {
    let message = &pending.message;
    let mut event = MessagePosted {
        id: message.id.0,
        room_id: message.room_id.0,
        owner_id: pending.owner_id,
        sender_type: message.sender_type.into(),
        content: message.content.clone(),
        created_at: message.created_at,
    }
    .to_outbox();
    event.traceparent.clone_from(&pending.traceparent);
    event
}

/// The live copy the other replicas get right after the commit: the room socket's frame as
/// this replica serialised it, under the message id, marked with this replica as its origin.
pub fn live_copy(pending: &PendingMessage, frame: &Utf8Bytes, origin: &str) -> Envelope {
    let mut headers = Vec::with_capacity(2);
    headers.push((ORIGIN_HEADER.to_owned(), origin.to_owned()));
    if let Some(traceparent) = &pending.traceparent {
        headers.push((TRACEPARENT_HEADER.to_owned(), traceparent.clone()));
    }
    Envelope {
        id: pending.message.id.0,
        subject: MessagePosted::live_subject_for(pending.message.room_id.0),
        payload: frame.clone().into(),
        headers,
    }
}

/// The message id and frame of another replica's live copy; `None` for anything else.
pub fn from_live_copy(envelope: &Envelope) -> Option<(MessageId, Utf8Bytes)> {
    let frame = Utf8Bytes::try_from(envelope.payload.clone()).ok()?;
    (!envelope.id.is_nil()).then_some((MessageId(envelope.id), frame))
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
