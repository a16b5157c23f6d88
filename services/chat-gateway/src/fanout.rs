//! Cross-replica fan-out: a room's committed messages reach this replica's sockets through
//! the room's NATS subject `chat.rooms.<id>.messages` (a core subscription, one per room with
//! local sockets). Events this replica committed itself are skipped: its sockets had them
//! already, straight from the hub.
//!
//! A core subscription misses what is published while the connection to NATS is being
//! re-established. Every message is committed before it is published, so after each
//! reconnection the room's latest messages are read back from the shared database and the
//! ones not yet delivered here are delivered (the hub delivers each id once).

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use futures::StreamExt;
use shared::events::{
    bus::ORIGIN_HEADER,
    catalog::{decode_data, MessagePosted},
    trace_context, Envelope, EventBus,
};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::{
    domain::RoomId,
    store::ChatStore,
    ws::{frames::message_frame, hub::Hub},
};

/// How many of a room's latest messages a catch-up reads.
const CATCH_UP_MESSAGES: i64 = 200;

/// Subscribes to `room`'s messages until aborted (by the hub, when the room's last local
/// socket leaves).
pub fn spawn_room_subscription(
    hub: Weak<Hub>,
    bus: Arc<dyn EventBus>,
    store: Arc<dyn ChatStore>,
    room: RoomId,
    replica_id: String,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let subject = MessagePosted::subject_for(room.0);
        let mut reconnections = bus.reconnections();
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut stream = match bus.subscribe(&subject).await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, room.id = %room, "room subscription failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            // A socket is admitted before its room's subscription is live: what another
            // replica committed in between is read back now (each id is delivered once).
            let Some(live) = hub.upgrade() else { return };
            catch_up(&live, store.as_ref(), room).await;
            drop(live);
            loop {
                let reconnected = async {
                    match reconnections.as_mut() {
                        Some(watch) => watch.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    envelope = stream.next() => {
                        let Some(envelope) = envelope else { break };
                        if envelope.header(ORIGIN_HEADER) == Some(replica_id.as_str()) {
                            continue;
                        }
                        let Some(hub) = hub.upgrade() else { return };
                        deliver_remote(&hub, room, &envelope).await;
                    }
                    true = reconnected => {
                        // Once right away, and once more after the re-subscription has surely
                        // reached the server.
                        for wait in [Duration::ZERO, Duration::from_secs(1)] {
                            tokio::time::sleep(wait).await;
                            let Some(hub) = hub.upgrade() else { return };
                            catch_up(&hub, store.as_ref(), room).await;
                        }
                    }
                }
            }
            // The bus ended the stream (connection replaced); subscribe again.
            tokio::time::sleep(backoff).await;
        }
    })
}

async fn deliver_remote(hub: &Hub, room: RoomId, envelope: &Envelope) {
    let span = tracing::info_span!(
        "chat.deliver_remote",
        messaging.system = "nats",
        messaging.operation = "receive",
        messaging.destination.name = %envelope.subject,
        room.id = %room,
    );
    trace_context::continue_remote(&span, envelope.header("traceparent"));
    async {
        match decode_data::<MessagePosted>(envelope) {
            Ok(event) => {
                let message = crate::events::message_from_event(event);
                tracing::debug!(message.id = %message.id, "delivering message from another replica");
                hub.deliver(room, message.id, &message_frame(&message));
            }
            Err(e) => tracing::warn!(error = %e, "undecodable message event"),
        }
    }
    .instrument(span)
    .await;
}

/// Delivers the room's messages committed since this replica began serving it that its
/// sockets may have missed: before the room's subscription was live, or while NATS was
/// unreachable.
async fn catch_up(hub: &Hub, store: &dyn ChatStore, room: RoomId) {
    let Some(since) = hub.serving_since(room) else {
        return;
    };
    match store.list_recent_messages(room, CATCH_UP_MESSAGES).await {
        Ok(messages) => {
            for message in messages.iter().filter(|m| m.created_at >= since) {
                hub.deliver(room, message.id, &message_frame(message));
            }
        }
        Err(e) => tracing::warn!(error = %e, room.id = %room, "catch-up after reconnecting failed"),
    }
}
