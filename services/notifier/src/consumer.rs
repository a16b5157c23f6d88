//! The notifier's one durable consumer, on `chat.>`: new rooms and visitor messages become
//! pending notifications, owners' settings a projection. NATS 2.9 takes one filter subject
//! per consumer, so one consumer reads the whole chat stream and skips what it does not use.
//!
//! Delivery is at least once: each event is applied in one transaction with its id
//! (`processed_events`), and acknowledged only after that commit, so a redelivery (a restart,
//! a NATS restart, a republished outbox row) changes nothing.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::{stream::BoxStream, FutureExt};
use serde::de::IgnoredAny;
use shared::events::{
    applying,
    catalog::{
        decode_data, EventDocument, MessagePosted, OwnerSettingsChanged, RoomCreated, SenderType,
    },
    Delivery, Envelope, EventBus,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{preview, OwnerSettings, Silence},
    store::{Applied, ChatChange, NotifierStore, StoreError},
};

/// Every chat event: one consumer, one filter (NATS 2.9).
pub const FILTER: &str = "chat.>";

/// What an event asks of the notifier, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Apply it.
    Change(ChatChange),
    /// A room or message event older than the age limit: not notified.
    Stale,
    /// Nothing the notifier uses (owner messages, other events).
    Ignored,
}

/// Reads an event: its id (the document's `event_id`, stable across republishes) and what
/// it asks.
pub fn decode(
    envelope: &Envelope,
    now: DateTime<Utc>,
    max_age: chrono::Duration,
) -> Result<(Uuid, Decoded), serde_json::Error> {
    let id = serde_json::from_slice::<EventDocument<IgnoredAny>>(&envelope.payload)?.event_id;
    let tokens: Vec<&str> = envelope.subject.split('.').collect();
    let stale = |at: DateTime<Utc>| at < now - max_age;
    let decoded = match tokens.as_slice() {
        ["chat", "rooms", _, "created"] => {
            let room: RoomCreated = decode_data(envelope)?;
            if stale(room.created_at) {
                Decoded::Stale
            } else {
                Decoded::Change(ChatChange::RoomCreated {
                    room_id: room.room_id,
                    owner_id: room.owner_id,
                    visitor_name: room.visitor_name.trim().to_owned(),
                })
            }
        }
        ["chat", "rooms", _, "messages"] => {
            let message: MessagePosted = decode_data(envelope)?;
            if message.sender_type != SenderType::Visitor {
                Decoded::Ignored
            } else if stale(message.created_at) {
                Decoded::Stale
            } else {
                Decoded::Change(ChatChange::VisitorMessage {
                    room_id: message.room_id,
                    owner_id: message.owner_id,
                    preview: preview(&message.content),
                    at: message.created_at,
                })
            }
        }
        ["chat", "owners", _, "settings"] => {
            let settings: OwnerSettingsChanged = decode_data(envelope)?;
            Decoded::Change(ChatChange::Settings(OwnerSettings {
                owner_id: settings.owner_id,
                accepting_messages: settings.accepting_messages,
                quiet_until: settings.quiet_until,
                version: settings.version,
            }))
        }
        _ => Decoded::Ignored,
    };
    Ok((id, decoded))
}

/// Applies one delivery; `Err` only when the database is unavailable (retry, do not ack).
/// `true` when a notification may now be due.
pub async fn apply(
    store: &dyn NotifierStore,
    delivery: &Delivery,
    max_age: chrono::Duration,
) -> Result<bool, StoreError> {
    let now = shared::time::now();
    let (id, decoded) = match decode(&delivery.envelope, now, max_age) {
        Ok(decoded) => decoded,
        Err(e) => {
            tracing::warn!(error = %e, subject = %delivery.envelope.subject, "skipping undecodable chat event");
            return Ok(false);
        }
    };
    let change = match decoded {
        Decoded::Change(change) => change,
        Decoded::Stale => {
            metrics::counter!("notifications_suppressed_total", "reason" => "stale").increment(1);
            return Ok(false);
        }
        Decoded::Ignored => return Ok(false),
    };
    Ok(match store.apply_event(id, &change, now).await? {
        Applied::Pending { coalesced } => {
            if coalesced {
                metrics::counter!("notifications_coalesced_total").increment(1);
            }
            true
        }
        Applied::Silenced(silence) => {
            metrics::counter!("notifications_suppressed_total", "reason" => silence_label(silence))
                .increment(1);
            false
        }
        Applied::Duplicate | Applied::Settings => false,
    })
}

/// The metric label of a silence.
pub fn silence_label(silence: Silence) -> &'static str {
    match silence {
        Silence::Paused => "paused",
        Silence::Quiet => "quiet",
    }
}

/// Creates (or reopens) the durable consumer `name`. Returns once it exists, so a caller can
/// start publishers after it (the in-process bus keeps nothing for late joiners).
pub async fn subscribe(
    bus: &dyn EventBus,
    name: &str,
    stop: &CancellationToken,
) -> Option<BoxStream<'static, Delivery>> {
    loop {
        match bus.consume_durable(name, FILTER).await {
            Ok(stream) => return Some(stream),
            Err(e) => {
                tracing::warn!(error = %e, "notifier waiting for the bus");
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Applies deliveries until `stop`, waking the dispatcher after each that made something due.
pub async fn run(
    deliveries: BoxStream<'static, Delivery>,
    store: Arc<dyn NotifierStore>,
    max_age: chrono::Duration,
    due: Arc<Notify>,
    stop: CancellationToken,
) {
    let span = |delivery: &Delivery| {
        tracing::info_span!(
            "notifier.apply",
            messaging.system = "nats",
            messaging.operation = "process",
            messaging.destination.name = %delivery.envelope.subject,
        )
    };
    applying::apply_each(
        deliveries,
        stop,
        span,
        |delivery| {
            let store = store.clone();
            async move { apply(store.as_ref(), delivery, max_age).await }.boxed()
        },
        |made_due| {
            if made_due {
                due.notify_one();
            }
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ids::UserId;

    fn envelope_of(row: shared::events::outbox::OutboxEvent) -> Envelope {
        row.to_envelope(None)
    }

    #[test]
    fn rooms_visitor_messages_and_settings_are_read_and_the_rest_ignored() {
        let now = shared::time::now();
        let age = chrono::Duration::minutes(10);
        let room_id = Uuid::new_v4();
        let owner_id = UserId::new_random();
        let room = envelope_of(
            RoomCreated {
                room_id,
                owner_id,
                visitor_name: " Qo'shni ".into(),
                created_at: now,
            }
            .to_outbox(),
        );
        let (id, decoded) = decode(&room, now, age).unwrap();
        assert_eq!(id, room.id);
        assert_eq!(
            decoded,
            Decoded::Change(ChatChange::RoomCreated {
                room_id,
                owner_id,
                visitor_name: "Qo'shni".into()
            })
        );
        let message = |sender_type, created_at| {
            envelope_of(
                MessagePosted {
                    id: Uuid::now_v7(),
                    room_id,
                    owner_id,
                    sender_type,
                    content: "Salom".into(),
                    created_at,
                }
                .to_outbox(),
            )
        };
        assert!(matches!(
            decode(&message(SenderType::Visitor, now), now, age)
                .unwrap()
                .1,
            Decoded::Change(ChatChange::VisitorMessage { .. })
        ));
        assert_eq!(
            decode(&message(SenderType::Owner, now), now, age)
                .unwrap()
                .1,
            Decoded::Ignored
        );
        assert_eq!(
            decode(&message(SenderType::Visitor, now - age * 2), now, age)
                .unwrap()
                .1,
            Decoded::Stale
        );
        let settings = envelope_of(
            OwnerSettingsChanged {
                owner_id,
                accepting_messages: false,
                quiet_until: None,
                version: 2,
                updated_at: now,
            }
            .to_outbox(),
        );
        assert!(matches!(
            decode(&settings, now, age).unwrap().1,
            Decoded::Change(ChatChange::Settings(OwnerSettings { version: 2, .. }))
        ));
    }
}
