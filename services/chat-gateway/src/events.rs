//! Domain ⇄ event: every chat event is built here, the durable ones a change commits with it
//! and the live copies the replicas hand each other.

use axum::extract::ws::Utf8Bytes;
use shared::{
    events::{
        bus::{ORIGIN_HEADER, TRACEPARENT_HEADER},
        catalog::{self, live, MessagePosted, OwnerSettingsChanged, RoomCreated},
        outbox::OutboxEvent,
        Envelope,
    },
    ids::UserId,
};
use uuid::Uuid;

use crate::{
    domain::{Message, MessageId, Room, RoomId, SenderType},
    fanout::Signal,
};

/// The header carrying a live message's place in its room.
pub const POSITION_HEADER: &str = "CarInfo-Position";
/// The header carrying the side a live signal comes from.
pub const SENDER_TYPE_HEADER: &str = "CarInfo-Sender-Type";

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

/// `chat.owners.<id>.settings`: an owner's settings after a change.
pub fn settings_changed(
    owner: UserId,
    row: &crate::store::rows::OwnerSettingsRow,
    at: chrono::DateTime<chrono::Utc>,
) -> OutboxEvent {
    OwnerSettingsChanged {
        owner_id: owner,
        accepting_messages: row.accepting_messages,
        quiet_until: row.quiet_until.map(|t| t.0),
        version: row.version,
        updated_at: at,
    }
    .to_outbox()
}

/// `chat.rooms.<id>.messages`: the durable event other services receive, serialised once,
/// with the sender's trace.
pub fn message_posted(
    message: &Message,
    owner_id: UserId,
    traceparent: Option<String>,
) -> OutboxEvent {
    let mut event = MessagePosted {
        id: message.id.0,
        room_id: message.room_id.0,
        owner_id,
        sender_type: message.sender_type.into(),
        content: message.content.clone(),
        created_at: message.created_at,
    }
    .to_outbox();
    event.traceparent = traceparent;
    event
}

fn live_envelope(
    id: Uuid,
    subject: String,
    frame: &Utf8Bytes,
    origin: &str,
    extra: Option<(&str, String)>,
) -> Envelope {
    let mut headers = Vec::with_capacity(3);
    headers.push((ORIGIN_HEADER.to_owned(), origin.to_owned()));
    if let Some((name, value)) = extra {
        headers.push((name.to_owned(), value));
    }
    Envelope {
        id,
        subject,
        payload: frame.clone().into(),
        headers,
    }
}

/// The live copy the other replicas get right after the commit: the room socket's frame as
/// this replica serialised it, under the message id and with its place in the room, marked
/// with this replica as its origin.
pub fn live_copy(
    message: &Message,
    owner_id: UserId,
    frame: &Utf8Bytes,
    traceparent: Option<&str>,
    origin: &str,
) -> Envelope {
    let mut envelope = live_envelope(
        message.id.0,
        live::messages(owner_id.as_uuid(), message.room_id.0),
        frame,
        origin,
        Some((POSITION_HEADER, message.position.to_string())),
    );
    if let Some(traceparent) = traceparent {
        envelope
            .headers
            .push((TRACEPARENT_HEADER.to_owned(), traceparent.to_owned()));
    }
    envelope
}

/// A typing or read frame for the other replicas; a read carries the message id as its id.
pub fn live_signal(
    room: RoomId,
    owner_id: UserId,
    side: SenderType,
    signal: Signal,
    frame: &Utf8Bytes,
    origin: &str,
) -> Envelope {
    let id = match signal {
        Signal::Typing => Uuid::nil(),
        Signal::Read(message) => message.0,
    };
    live_envelope(
        id,
        live::signals(owner_id.as_uuid(), room.0),
        frame,
        origin,
        Some((SENDER_TYPE_HEADER, side.as_str().to_owned())),
    )
}

/// A room's `room_state` frame for its sockets on the other replicas.
pub fn live_state(room: &Room, frame: &Utf8Bytes, origin: &str) -> Envelope {
    live_envelope(
        Uuid::nil(),
        live::state(room.owner_id.as_uuid(), room.id.0),
        frame,
        origin,
        None,
    )
}

/// A room's new state for the owner channels on the other replicas.
pub fn live_room(room: &Room, frame: &Utf8Bytes, origin: &str) -> Envelope {
    live_envelope(
        Uuid::nil(),
        live::inbox(room.owner_id.as_uuid(), room.id.0),
        frame,
        origin,
        None,
    )
}

/// What another replica sent on a room's or an owner's live subjects.
pub enum LiveEvent {
    /// A committed message: id, place in its room, frame.
    Message(MessageId, i64, Utf8Bytes),
    /// A typing or read frame from `SenderType`'s side.
    Signal(SenderType, Signal, Utf8Bytes),
    /// A room's new state, as the owner channel's frame.
    Room(Utf8Bytes),
    /// A room was closed or reopened, as its `carinfo.v2` sockets' frame.
    State(Utf8Bytes),
}

/// Reads another replica's live envelope; `None` for anything malformed.
pub fn from_live(envelope: &Envelope) -> Option<LiveEvent> {
    let frame = Utf8Bytes::try_from(envelope.payload.clone()).ok()?;
    let kind = envelope.subject.rsplit('.').next()?;
    if kind == "messages" {
        let position = envelope.header(POSITION_HEADER)?.parse().ok()?;
        return (!envelope.id.is_nil()).then_some(LiveEvent::Message(
            MessageId(envelope.id),
            position,
            frame,
        ));
    }
    if kind == "signals" {
        let side = SenderType::parse(envelope.header(SENDER_TYPE_HEADER)?)?;
        let signal = if envelope.id.is_nil() {
            Signal::Typing
        } else {
            Signal::Read(MessageId(envelope.id))
        };
        return Some(LiveEvent::Signal(side, signal, frame));
    }
    if kind == "state" {
        return Some(LiveEvent::State(frame));
    }
    envelope
        .subject
        .contains(".inbox.")
        .then_some(LiveEvent::Room(frame))
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
