//! The event catalogue: every event CarInfo publishes, its subject and its payload. This is
//! a public contract (mirrored in `docs/events.md`): adding an optional field is allowed; a
//! rename or removal needs a new `schema_version`.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

use super::{bus::Envelope, outbox::OutboxEvent};
use crate::ids::UserId;

/// The payload schema version of every event below.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON document published for every event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventDocument<T> {
    /// Unique per event; also the `Nats-Msg-Id` header.
    pub event_id: Uuid,
    /// e.g. `accounts.user.registered`.
    pub event_type: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the change was committed.
    #[serde(with = "wire_time")]
    pub occurred_at: DateTime<Utc>,
    /// The event-specific body.
    pub data: T,
}

mod wire_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        crate::time::serialize(at, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// A user's state after a change: what other services may know about an owner. Phone numbers
/// and password hashes never go on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSnapshot {
    /// The owner (sticker) id.
    pub id: UserId,
    /// Whether the sticker has been activated.
    pub is_registered: bool,
    /// Whether the public profile is visible.
    pub is_profile_public: bool,
    /// Display name.
    pub full_name: String,
    /// Car model.
    pub car_model: String,
    /// Plate number.
    pub car_plate_number: String,
    /// Increases with every change, so consumers can drop stale deliveries.
    pub version: i64,
}

/// `accounts.users.<id>.registered` and `.updated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    /// A sticker was activated.
    UserRegistered(UserSnapshot),
    /// A profile changed.
    UserUpdated(UserSnapshot),
}

impl AccountEvent {
    /// Subject filter for every account event.
    pub const ALL: &'static str = "accounts.users.>";

    /// `accounts.users.<id>.<registered|updated>`.
    pub fn subject(&self) -> String {
        match self {
            Self::UserRegistered(u) => format!("accounts.users.{}.registered", u.id),
            Self::UserUpdated(u) => format!("accounts.users.{}.updated", u.id),
        }
    }

    fn event_type(&self) -> &'static str {
        match self {
            Self::UserRegistered(_) => "accounts.user.registered",
            Self::UserUpdated(_) => "accounts.user.updated",
        }
    }

    /// The user's state carried by either variant.
    pub fn snapshot(&self) -> &UserSnapshot {
        match self {
            Self::UserRegistered(u) | Self::UserUpdated(u) => u,
        }
    }

    /// The outbox row for this event, committed with the change.
    pub fn to_outbox(&self, occurred_at: DateTime<Utc>) -> OutboxEvent {
        to_outbox(
            self.subject(),
            self.event_type(),
            occurred_at,
            self.snapshot(),
        )
    }

    /// Reads an account event from the bus.
    pub fn from_envelope(envelope: &Envelope) -> Result<(Uuid, Self), serde_json::Error> {
        let doc: EventDocument<UserSnapshot> = serde_json::from_slice(&envelope.payload)?;
        let event = if envelope.subject.ends_with(".registered") {
            Self::UserRegistered(doc.data)
        } else {
            Self::UserUpdated(doc.data)
        };
        Ok((doc.event_id, event))
    }
}

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    /// The anonymous visitor.
    Visitor,
    /// The car owner.
    Owner,
}

/// `chat.rooms.<room_id>.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCreated {
    /// The new room.
    pub room_id: Uuid,
    /// The owner being contacted.
    pub owner_id: UserId,
    /// What the visitor called themselves ("" when not given).
    pub visitor_name: String,
    /// Creation time.
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
}

/// `chat.rooms.<room_id>.messages`: a committed chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    /// The message id (stable; clients de-duplicate on it).
    pub id: Uuid,
    /// The room.
    pub room_id: Uuid,
    /// The room's owner, so notification services need no lookup.
    pub owner_id: UserId,
    /// Visitor or owner.
    pub sender_type: SenderType,
    /// The text.
    pub content: String,
    /// Commit time.
    #[serde(with = "wire_time")]
    pub created_at: DateTime<Utc>,
}

/// `chat.owners.<owner_id>.settings`: an owner's chat settings after a change (pausing the
/// sticker, quiet hours). A notification service skips an owner who is not accepting
/// messages, or whose quiet hours have not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSettingsChanged {
    /// The owner.
    pub owner_id: UserId,
    /// `false` while the owner has paused the sticker: no new rooms.
    pub accepting_messages: bool,
    /// No notifications before this time; `null` for none.
    #[serde(with = "optional_wire_time")]
    pub quiet_until: Option<DateTime<Utc>>,
    /// Grows with every change of the owner's settings: apply an event only if its `version`
    /// is greater than the one you hold.
    pub version: i64,
    /// When the change was made.
    #[serde(with = "wire_time")]
    pub updated_at: DateTime<Utc>,
}

impl OwnerSettingsChanged {
    /// Subject filter for every settings event.
    pub const ALL: &'static str = "chat.owners.*.settings";

    /// `chat.owners.<owner_id>.settings`.
    pub fn subject(&self) -> String {
        format!("chat.owners.{}.settings", self.owner_id)
    }

    /// The outbox row for this event.
    pub fn to_outbox(&self) -> OutboxEvent {
        to_outbox(
            self.subject(),
            "chat.owner.settings_changed",
            self.updated_at,
            self,
        )
    }
}

mod optional_wire_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => crate::time::serialize(at, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

impl RoomCreated {
    /// `chat.rooms.<room_id>.created`.
    pub fn subject(&self) -> String {
        format!("chat.rooms.{}.created", self.room_id)
    }

    /// The outbox row for this event.
    pub fn to_outbox(&self) -> OutboxEvent {
        to_outbox(self.subject(), "chat.room.created", self.created_at, self)
    }
}

impl MessagePosted {
    /// Subject filter for every message event.
    pub const ALL: &'static str = "chat.rooms.*.messages";

    /// `chat.rooms.<room_id>.messages`.
    pub fn subject(&self) -> String {
        Self::subject_for(self.room_id)
    }

    /// The message subject of one room.
    pub fn subject_for(room_id: Uuid) -> String {
        format!("chat.rooms.{room_id}.messages")
    }

    /// The outbox row for this event; the event id is the message id, so a re-publish of the
    /// same message is dropped by JetStream.
    pub fn to_outbox(&self) -> OutboxEvent {
        document(
            self.id,
            self.subject(),
            "chat.message.posted",
            self.created_at,
            self,
        )
    }
}

/// The subjects on which the gateway replicas hand each other what happens in rooms as it
/// happens (core NATS, outside every stream, nothing stored). All of an owner's rooms are
/// under `live.chat.owners.<owner_id>.`, so the owner channel takes one subscription and a
/// room's sockets another.
pub mod live {
    use uuid::Uuid;

    /// What a gateway publishes to learn that its subscriptions are in place (nobody
    /// subscribes to it; see `EventBus::sync`).
    pub const SYNC: &str = "live.chat.sync";

    /// `live.chat.owners.<owner_id>.rooms.<room_id>.messages`: each committed message, as the
    /// room socket's frame.
    pub fn messages(owner_id: Uuid, room_id: Uuid) -> String {
        format!("live.chat.owners.{owner_id}.rooms.{room_id}.messages")
    }

    /// `live.chat.owners.<owner_id>.rooms.<room_id>.signals`: typing and read frames.
    pub fn signals(owner_id: Uuid, room_id: Uuid) -> String {
        format!("live.chat.owners.{owner_id}.rooms.{room_id}.signals")
    }

    /// `live.chat.owners.<owner_id>.rooms.<room_id>.state`: the room was closed, reopened,
    /// blocked or unblocked (the `carinfo.v2` sockets' `room_state` frame).
    pub fn state(owner_id: Uuid, room_id: Uuid) -> String {
        format!("live.chat.owners.{owner_id}.rooms.{room_id}.state")
    }

    /// What a room's sockets need: its messages, signals and state.
    pub fn room(owner_id: Uuid, room_id: Uuid) -> String {
        format!("live.chat.owners.{owner_id}.rooms.{room_id}.*")
    }

    /// `live.chat.owners.<owner_id>.inbox.<room_id>`: the room as the owner's list shows it,
    /// whenever it is created or changes.
    pub fn inbox(owner_id: Uuid, room_id: Uuid) -> String {
        format!("live.chat.owners.{owner_id}.inbox.{room_id}")
    }

    /// Everything of one owner's rooms: what the owner channel needs.
    pub fn owner(owner_id: Uuid) -> String {
        format!("live.chat.owners.{owner_id}.>")
    }
}

/// Reads the `data` of any event document.
pub fn decode_data<T: DeserializeOwned>(envelope: &Envelope) -> Result<T, serde_json::Error> {
    serde_json::from_slice::<EventDocument<T>>(&envelope.payload).map(|doc| doc.data)
}

fn to_outbox<T: Serialize>(
    subject: String,
    event_type: &str,
    occurred_at: DateTime<Utc>,
    data: &T,
) -> OutboxEvent {
    document(Uuid::now_v7(), subject, event_type, occurred_at, data)
}

/// The outbox row of one event document, serialised once.
fn document<T: Serialize>(
    event_id: Uuid,
    subject: String,
    event_type: &str,
    occurred_at: DateTime<Utc>,
    data: &T,
) -> OutboxEvent {
    let document = EventDocument {
        event_id,
        event_type: event_type.to_owned(),
        schema_version: SCHEMA_VERSION,
        occurred_at,
        data,
    };
    // Serialising plain structs of strings, ids and timestamps cannot fail.
    let payload = serde_json::to_vec(&document).unwrap_or_default();
    OutboxEvent {
        id: event_id,
        subject,
        payload: Bytes::from(payload),
        traceparent: super::trace_context::current_traceparent(),
        origin: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_events_round_trip_through_an_envelope() {
        let snapshot = UserSnapshot {
            id: UserId::new_random(),
            is_registered: true,
            is_profile_public: false,
            full_name: "A".into(),
            car_model: "B".into(),
            car_plate_number: "C".into(),
            version: 3,
        };
        let event = AccountEvent::UserRegistered(snapshot.clone());
        let row = event.to_outbox(crate::time::now());
        assert_eq!(
            row.subject,
            format!("accounts.users.{}.registered", snapshot.id)
        );
        let envelope = row.to_envelope(None);
        let (id, decoded) = AccountEvent::from_envelope(&envelope).unwrap();
        assert_eq!(id, row.id);
        assert_eq!(decoded, event);
    }

    #[test]
    fn message_events_use_the_message_id_as_event_id() {
        let posted = MessagePosted {
            id: Uuid::now_v7(),
            room_id: Uuid::new_v4(),
            owner_id: UserId::new_random(),
            sender_type: SenderType::Visitor,
            content: "Salom".into(),
            created_at: crate::time::now(),
        };
        let row = posted.to_outbox();
        assert_eq!(row.id, posted.id);
        let decoded: MessagePosted = decode_data(&row.to_envelope(None)).unwrap();
        assert_eq!(decoded, posted);
    }
}
