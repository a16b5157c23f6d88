//! Cross-replica fan-out: a room's committed messages reach this replica's sockets through
//! the room's NATS subject `chat.rooms.<id>.messages`. Events this replica published itself are
//! skipped (its sockets had them already, straight from the hub).

use std::{sync::Weak, time::Duration};

use futures::StreamExt;
use shared::events::{
    bus::ORIGIN_HEADER,
    catalog::{decode_data, MessagePosted},
    trace_context, EventBus,
};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::{
    domain::{Message, RoomId},
    ws::{frames::message_frame, hub::Hub},
};

/// Subscribes to `room`'s messages until aborted (by the hub, when the room's last local
/// socket leaves).
pub fn spawn_room_subscription(
    hub: Weak<Hub>,
    bus: Arc<dyn EventBus>,
    room: RoomId,
    replica_id: String,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let subject = MessagePosted::subject_for(room.0);
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
            while let Some(envelope) = stream.next().await {
                if envelope.header(ORIGIN_HEADER) == Some(replica_id.as_str()) {
                    continue;
                }
                let span = tracing::info_span!(
                    "chat.deliver_remote",
                    messaging.system = "nats",
                    messaging.operation = "receive",
                    messaging.destination.name = %envelope.subject,
                    room.id = %room,
                );
                trace_context::continue_remote(&span, envelope.header("traceparent"));
                let Some(hub) = hub.upgrade() else {
                    return;
                };
                async {
                    match decode_data::<MessagePosted>(&envelope) {
                        Ok(event) => {
                            let message = Message::from_event(event);
                            tracing::debug!(message.id = %message.id, "delivering message from another replica");
                            hub.deliver(room, &message_frame(&message));
                        }
                        Err(e) => tracing::warn!(error = %e, "undecodable message event"),
                    }
                }
                .instrument(span)
                .await;
            }
            // The bus ended the stream (connection replaced); subscribe again.
            tokio::time::sleep(backoff).await;
        }
    })
}
