//! Fan-out: what happens in a room reaches its sockets on this replica (through the [`Hub`]),
//! on the others, and the owner's channels. Right after a batch commits, its messages go as
//! live copies on `live.chat.owners.<owner>.rooms.<room>.messages`, and the rooms' new
//! states on `live.chat.owners.<owner>.inbox.<room>` (core NATS, nothing stored), to the
//! other replicas, then to the local sockets; the durable event for other services leaves
//! through the message relay (`crate::store::MessageLog`), off this path. Typing and read
//! frames go the same way on `….signals`. A replica subscribes to a room's subjects while the
//! room has sockets here, and to an owner's while the owner has a channel here, and skips its
//! own copies.
//!
//! A core subscription misses what is published while it is being set up or while the
//! connection to NATS is being re-established. Every message is committed before it is
//! published and has its place in its room, so then (and whenever a message arrives ahead of
//! one still missing) the room's messages after the last one delivered here are read back
//! from the shared database. An owner channel that may have missed something is closed, so
//! its client reconnects and reads the rooms again.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use shared::{
    events::{
        bus::{reconnected, ORIGIN_HEADER},
        catalog::live,
        trace_context, Envelope, EventBus,
    },
    ids::UserId,
};
use tokio::sync::{mpsc, watch, Notify};

use crate::{
    domain::{MessageId, Room, RoomId, SenderType},
    events::LiveEvent,
    store::{ChatStore, Committed, CommittedBatch, PendingMessage},
    ws::{
        frames,
        hub::{Audience, ConnId, Hub, RoomSocket, Subscription},
    },
};

/// Longest a batch's delivery waits for the broker to confirm its live copies: past it (a
/// connection just lost), the other replicas recover the batch from the database.
const LIVE_COPY_WAIT: Duration = Duration::from_millis(250);

/// How many messages one catch-up read brings back.
const CATCH_UP_MESSAGES: i64 = 500;

/// How long a message that arrived ahead of a missing one waits for the missing one's live
/// copy before it is read back from the database.
const GAP_WAIT: Duration = Duration::from_millis(50);

/// Longest an owner channel's handshake waits for its subscription to be in place.
const OWNER_SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);

/// A typing or read frame from one side of a room.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    /// The side is typing: every other `carinfo.v2` socket of the room hears it.
    Typing,
    /// The side has read up to this message: the other side hears it.
    Read(MessageId),
}

/// This replica's part in delivering what happens in rooms.
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

    /// Adds `socket` to `room` of `owner` (see [`Hub::join`]); the room's first socket here
    /// subscribes to what the other replicas send into it.
    pub fn join(self: &Arc<Self>, room: RoomId, owner: UserId, stored: i64, socket: RoomSocket) {
        self.hub.join(room, stored, socket, |gap| {
            Subscription(
                tokio::spawn(subscribe_room(Arc::downgrade(self), room, owner, gap)).abort_handle(),
            )
        });
    }

    /// Removes a socket; the room's subscription ends with its last socket here.
    pub fn leave(&self, room: RoomId, conn: ConnId) {
        self.hub.leave(room, conn);
    }

    /// Adds an owner channel and returns once it receives what the other replicas send about
    /// the owner's rooms (or, if NATS does not answer in time, what this replica does).
    pub async fn join_owner(
        self: &Arc<Self>,
        owner: UserId,
        conn: ConnId,
        sender: mpsc::Sender<Utf8Bytes>,
    ) {
        let (ready_tx, mut ready) = watch::channel(false);
        let mut first = false;
        self.hub.join_owner(owner, conn, sender, || {
            first = true;
            Subscription(
                tokio::spawn(subscribe_owner(Arc::downgrade(self), owner, ready_tx)).abort_handle(),
            )
        });
        // While NATS is unreachable there is nothing to wait for: the channel gets what this
        // replica does, and is closed to resynchronise when NATS is back.
        if first && self.bus.is_connected() {
            let _ = tokio::time::timeout(OWNER_SUBSCRIBE_WAIT, ready.wait_for(|r| *r)).await;
        }
    }

    /// Removes an owner channel.
    pub fn leave_owner(&self, owner: UserId, conn: ConnId) {
        self.hub.leave_owner(owner, conn);
    }

    /// A batch is committed: its messages' frames go to the other replicas, then to the local
    /// sockets and owner channels, with the rooms' new states. `outcome` is what the store
    /// made of `batch`, message by message.
    ///
    /// The other replicas come first: once a sender sees its message echoed, the broker has
    /// the copy, so the replicas serving the room get it even if this one dies right after.
    /// While NATS is unreachable nothing waits for it; the other replicas catch up from the
    /// database when they reconnect.
    pub async fn committed(&self, batch: &[PendingMessage], outcome: &CommittedBatch) {
        let stored: Vec<(&PendingMessage, &crate::domain::Message, Utf8Bytes)> = batch
            .iter()
            .zip(&outcome.messages)
            .filter_map(|(pending, committed)| match committed {
                Committed::Stored(message) => {
                    Some((pending, message, frames::message_frame(message)))
                }
                Committed::Duplicate(_) | Committed::RoomClosed => None,
            })
            .collect();
        let rooms: Vec<(&Room, Utf8Bytes)> = outcome
            .rooms
            .iter()
            .map(|room| (room, frames::owner_room_frame(room)))
            .collect();
        let mut copies: Vec<Envelope> = stored
            .iter()
            .map(|(pending, message, frame)| {
                crate::events::live_copy(
                    message,
                    pending.owner_id,
                    frame,
                    pending.traceparent.as_deref(),
                    &self.origin,
                )
            })
            .collect();
        copies.extend(
            rooms
                .iter()
                .map(|(room, frame)| crate::events::live_room(room, frame, &self.origin)),
        );
        self.publish(&copies).await;
        for (pending, message, frame) in &stored {
            self.hub
                .deliver(message.room_id, message.id, message.position, frame);
            if self.hub.has_owner_channel(pending.owner_id) {
                self.hub
                    .deliver_to_owner(pending.owner_id, &frames::owner_message_frame(frame));
            }
        }
        for (room, frame) in &rooms {
            self.hub.deliver_to_owner(room.owner_id, frame);
        }
    }

    /// A room changed outside a message batch (created, read): its owner's channels hear it.
    pub async fn room_changed(&self, room: &Room) {
        let frame = frames::owner_room_frame(room);
        self.publish(&[crate::events::live_room(room, &frame, &self.origin)])
            .await;
        self.hub.deliver_to_owner(room.owner_id, &frame);
    }

    /// The owner closed, reopened, blocked or unblocked `room`: its `carinfo.v2` sockets, here
    /// and elsewhere, get `room_state`, and the owner's channels the room.
    pub async fn room_state(&self, room: &Room) {
        let state = frames::room_state_frame(room);
        let inbox = frames::owner_room_frame(room);
        self.publish(&[
            crate::events::live_state(room, &state, &self.origin),
            crate::events::live_room(room, &inbox, &self.origin),
        ])
        .await;
        self.hub.signal(room.id, EVERYONE, &state);
        self.hub.deliver_to_owner(room.owner_id, &inbox);
    }

    /// `side`'s socket `from` in `room` of `owner` sends `signal`: the room's other
    /// `carinfo.v2` sockets concerned, here and elsewhere, and the owner's channels hear it.
    pub async fn signal(
        &self,
        room: RoomId,
        owner: UserId,
        from: ConnId,
        side: SenderType,
        signal: Signal,
    ) {
        let frame = match signal {
            Signal::Typing => frames::typing_frame(room, side),
            Signal::Read(message) => frames::read_frame(room, side, message),
        };
        self.publish(&[crate::events::live_signal(
            room,
            owner,
            side,
            signal,
            &frame,
            &self.origin,
        )])
        .await;
        self.hub
            .signal(room, audience(signal, side, Some(from)), &frame);
        self.hub.deliver_to_owner(owner, &frame);
    }

    async fn publish(&self, envelopes: &[Envelope]) {
        if !self.bus.is_connected() {
            return;
        }
        match tokio::time::timeout(LIVE_COPY_WAIT, self.bus.publish_live(envelopes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "live copies not published"),
            Err(_) => tracing::debug!("live copies not confirmed in time"),
        }
    }

    /// What another replica sent about `room`.
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
        match crate::events::from_live(envelope) {
            Some(LiveEvent::Message(id, position, frame)) => {
                self.hub.deliver(room, id, position, &frame);
            }
            Some(LiveEvent::Signal(side, signal, frame)) => {
                self.hub.signal(room, audience(signal, side, None), &frame);
            }
            Some(LiveEvent::State(frame)) => self.hub.signal(room, EVERYONE, &frame),
            Some(LiveEvent::Room(_)) => {}
            None => tracing::warn!("undecodable live copy"),
        }
    }

    /// What another replica sent about one of `owner`'s rooms, for the owner's channels.
    fn deliver_remote_to_owner(&self, owner: UserId, envelope: &Envelope) {
        if envelope.header(ORIGIN_HEADER) == Some(self.origin.as_str()) {
            return;
        }
        match crate::events::from_live(envelope) {
            Some(LiveEvent::Message(_, _, frame)) => self
                .hub
                .deliver_to_owner(owner, &frames::owner_message_frame(&frame)),
            Some(LiveEvent::Signal(_, _, frame) | LiveEvent::Room(frame)) => {
                self.hub.deliver_to_owner(owner, &frame);
            }
            // The owner's channels learn it from the room's new state.
            Some(LiveEvent::State(_)) => {}
            None => tracing::warn!("undecodable live copy"),
        }
    }

    /// Delivers the room's messages after the last one delivered here: those committed before
    /// the room's subscription was live, while NATS was unreachable, or whose live copy is
    /// late. `false` when the database could not be read.
    async fn catch_up(&self, room: RoomId) -> bool {
        while let Some(after) = self.hub.delivered(room) {
            match self
                .store
                .list_messages_after(room, after, CATCH_UP_MESSAGES)
                .await
            {
                Ok(messages) => {
                    let complete = (messages.len() as i64) < CATCH_UP_MESSAGES;
                    for message in &messages {
                        self.hub.deliver(
                            room,
                            message.id,
                            message.position,
                            &frames::message_frame(message),
                        );
                    }
                    if complete {
                        return true;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, room.id = %room, "catch-up failed");
                    return false;
                }
            }
        }
        true
    }
}

/// Every `carinfo.v2` socket of a room.
const EVERYONE: Audience = Audience {
    except: None,
    side: None,
};

/// Who in a room hears `signal` from `side`.
fn audience(signal: Signal, side: SenderType, except: Option<ConnId>) -> Audience {
    match signal {
        Signal::Typing => Audience { except, side: None },
        Signal::Read(_) => Audience {
            except,
            side: Some(side.other()),
        },
    }
}

/// Subscribes to `subject` until it works, then waits until the broker has it in place.
async fn subscribe_until_live(
    bus: &Arc<dyn EventBus>,
    subject: &str,
) -> futures::stream::BoxStream<'static, Envelope> {
    let mut backoff = Duration::from_millis(100);
    loop {
        match bus.subscribe(subject).await {
            Ok(stream) => {
                if let Err(e) = bus.sync(live::SYNC).await {
                    tracing::debug!(error = %e, "subscription not confirmed");
                }
                return stream;
            }
            Err(e) => {
                tracing::warn!(error = %e, subject, "subscription failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Follows `room`'s live subjects until aborted (when the room's last local socket leaves).
async fn subscribe_room(fanout: Weak<Fanout>, room: RoomId, owner: UserId, gap: Arc<Notify>) {
    let Some(bus) = fanout.upgrade().map(|f| f.bus.clone()) else {
        return;
    };
    let subject = live::room(owner.as_uuid(), room.0);
    let mut reconnections = bus.reconnections();
    loop {
        let mut stream = subscribe_until_live(&bus, &subject).await;
        // A socket is admitted before its room's subscription is live: what another replica
        // committed in between is read back now.
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
                () = gap.notified() => {
                    tokio::time::sleep(GAP_WAIT).await;
                    let Some(live) = fanout.upgrade() else { return };
                    if live.hub.is_missing_messages(room) && !live.catch_up(room).await {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        gap.notify_one();
                    }
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Follows `owner`'s live subjects until aborted (when the owner's last channel here leaves).
async fn subscribe_owner(fanout: Weak<Fanout>, owner: UserId, ready: watch::Sender<bool>) {
    let Some(bus) = fanout.upgrade().map(|f| f.bus.clone()) else {
        return;
    };
    let subject = live::owner(owner.as_uuid());
    let mut reconnections = bus.reconnections();
    loop {
        let mut stream = subscribe_until_live(&bus, &subject).await;
        ready.send_replace(true);
        loop {
            tokio::select! {
                envelope = stream.next() => {
                    let Some(envelope) = envelope else { break };
                    let Some(live) = fanout.upgrade() else { return };
                    live.deliver_remote_to_owner(owner, &envelope);
                }
                true = reconnected(&mut reconnections) => {
                    let Some(live) = fanout.upgrade() else { return };
                    live.hub.reset_owner(owner);
                }
            }
        }
        let Some(live) = fanout.upgrade() else { return };
        live.hub.reset_owner(owner);
        drop(live);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
