//! Fan-out: every committed message reaches the room's sockets on this replica (through the
//! [`Hub`]) and on the others. Right after a batch commits, its messages go as live copies on
//! `live.chat.rooms.<id>.messages` (core NATS, nothing stored) to the other replicas, then to
//! the local sockets; the durable event for other services leaves through the message relay
//! (`crate::store::MessageLog`), off this path. A replica subscribes to a room's live subject
//! while the room has sockets here, and skips its own copies.
//!
//! A core subscription misses what is published while it is being set up or while the
//! connection to NATS is being re-established. Every message is committed before it is
//! published, so then the room's latest messages are read back from the shared database and
//! the ones not yet delivered here are delivered (the hub delivers each id once).

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use shared::events::{
    bus::{reconnected, ORIGIN_HEADER},
    catalog::MessagePosted,
    trace_context, Envelope, EventBus,
};
use tokio::sync::mpsc;

use crate::{
    domain::RoomId,
    store::{ChatStore, PendingMessage},
    ws::{
        frames::message_frame,
        hub::{ConnId, Hub, RoomSubscription},
    },
};

/// Longest a batch's delivery waits for the broker to confirm its live copies: past it (a
/// connection just lost), the other replicas recover the batch from the database.
const LIVE_COPY_WAIT: Duration = Duration::from_millis(250);

/// How many of a room's latest messages a catch-up reads.
const CATCH_UP_MESSAGES: i64 = 200;

/// This replica's part in delivering messages.
pub struct Fanout {
    hub: Arc<Hub>,
    bus: Arc<dyn EventBus>,
    store: Arc<dyn ChatStore>,
    /// This replica's id, on every live copy it publishes.
    origin: String,
}

impl Fanout {
    /// Fan-out for `hub`'s sockets over `bus`, as replica `origin`.
    pub fn new(
        hub: Arc<Hub>,
        bus: Arc<dyn EventBus>,
        store: Arc<dyn ChatStore>,
        origin: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            hub,
            bus,
            store,
            origin,
        })
    }

    /// This replica's sockets.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// This replica's id.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Adds a socket to `room` (see [`Hub::join`]); the room's first socket here subscribes
    /// to what the other replicas commit into it.
    pub fn join(
        self: &Arc<Self>,
        room: RoomId,
        stored_messages: i64,
        admitted_at: DateTime<Utc>,
        sender: mpsc::Sender<Utf8Bytes>,
    ) -> ConnId {
        self.hub
            .join(room, stored_messages, admitted_at, sender, || {
                RoomSubscription(
                    tokio::spawn(subscribe_room(Arc::downgrade(self), room)).abort_handle(),
                )
            })
    }

    /// Removes a socket; the room's subscription ends with its last socket here.
    pub fn leave(&self, room: RoomId, conn: ConnId) {
        self.hub.leave(room, conn);
    }

    /// A batch is committed: its frames go to the other replicas, then to the local sockets.
    /// `frames[i]` is the broadcast frame of `batch[i]`.
    ///
    /// The other replicas come first: once a sender sees its message echoed, the broker has
    /// the copy, so the replicas serving the room get it even if this one dies right after.
    /// While NATS is unreachable nothing waits for it; the other replicas catch up from the
    /// database when they reconnect.
    pub async fn committed(&self, batch: &[PendingMessage], frames: &[Utf8Bytes]) {
        if self.bus.is_connected() {
            let copies: Vec<Envelope> = batch
                .iter()
                .zip(frames)
                .map(|(pending, frame)| crate::events::live_copy(pending, frame, &self.origin))
                .collect();
            match tokio::time::timeout(LIVE_COPY_WAIT, self.bus.publish_live(&copies)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "live copies not published"),
                Err(_) => tracing::debug!("live copies not confirmed in time"),
            }
        }
        for (pending, frame) in batch.iter().zip(frames) {
            self.hub
                .deliver(pending.message.room_id, pending.message.id, frame);
        }
    }

    fn deliver_remote(&self, room: RoomId, envelope: &Envelope) {
        if envelope.header(ORIGIN_HEADER) == Some(self.origin.as_str()) {
            return;
        }
        let span = tracing::info_span!(
            "chat.deliver_remote",
            messaging.system = "nats",
            messaging.operation = "receive",
            messaging.destination.name = %envelope.subject,
            room.id = %room,
        );
        trace_context::continue_remote(&span, envelope.header("traceparent"));
        let _entered = span.enter();
        match crate::events::from_live_copy(envelope) {
            Some((id, frame)) => self.hub.deliver(room, id, &frame),
            None => tracing::warn!("undecodable live copy"),
        }
    }

    /// Delivers the room's messages committed since this replica began serving it that its
    /// sockets may have missed: before the room's subscription was live, or while NATS was
    /// unreachable.
    async fn catch_up(&self, room: RoomId) {
        let Some(since) = self.hub.serving_since(room) else {
            return;
        };
        match self
            .store
            .list_recent_messages(room, CATCH_UP_MESSAGES)
            .await
        {
            Ok(messages) => {
                for message in messages.iter().filter(|m| m.created_at >= since) {
                    self.hub.deliver(room, message.id, &message_frame(message));
                }
            }
            Err(e) => tracing::warn!(error = %e, room.id = %room, "catch-up failed"),
        }
    }
}

/// Follows `room`'s live subject until aborted (when the room's last local socket leaves).
async fn subscribe_room(fanout: Weak<Fanout>, room: RoomId) {
    let Some(bus) = fanout.upgrade().map(|f| f.bus.clone()) else {
        return;
    };
    let subject = MessagePosted::live_subject_for(room.0);
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
        // A socket is admitted before its room's subscription is live: what another replica
        // committed in between is read back now (each id is delivered once).
        let Some(live) = fanout.upgrade() else { return };
        live.catch_up(room).await;
        drop(live);
        loop {
            tokio::select! {
                envelope = stream.next() => {
                    let Some(envelope) = envelope else { break };
                    let Some(live) = fanout.upgrade() else { return };
                    live.deliver_remote(room, &envelope);
                }
                true = reconnected(&mut reconnections) => {
                    // Once right away, and once more after the re-subscription has surely
                    // reached the server.
                    for wait in [Duration::ZERO, Duration::from_secs(1)] {
                        tokio::time::sleep(wait).await;
                        let Some(live) = fanout.upgrade() else { return };
                        live.catch_up(room).await;
                    }
                }
            }
        }
        // The bus ended the stream (connection replaced); subscribe again.
        tokio::time::sleep(backoff).await;
    }
}
