//! The hub: this replica's sockets, by room, and nothing else. It queues frames for local
//! sockets, de-duplicates them by message id and counts a room's messages; what a room needs
//! from outside the replica (its NATS subscription) is [`crate::fanout`]'s, which hands the hub
//! a [`RoomSubscription`] to hold for as long as the room has sockets here.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard,
    },
};

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use tokio::{sync::mpsc, task::AbortHandle};

use crate::domain::{MessageId, RoomId};

/// A socket's id within this replica.
pub type ConnId = u64;

/// What keeps a room's remote deliveries coming; ended when the room's last socket leaves.
pub struct RoomSubscription(pub AbortHandle);

impl Drop for RoomSubscription {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct RoomSockets {
    sockets: Vec<(ConnId, mpsc::Sender<Utf8Bytes>)>,
    _subscription: RoomSubscription,
    /// Ids of the messages delivered lately: a message can arrive both from this replica's
    /// commit and from NATS, or again from a catch-up read; each is delivered once. Empty,
    /// and unallocated, until the room has traffic: most rooms sit idle.
    recent: VecDeque<MessageId>,
    /// When the room's first socket here was admitted; catch-up never reaches further back.
    since: DateTime<Utc>,
    /// Messages in the room: the stored count when the room's first socket joined, plus every
    /// message delivered since.
    messages: i64,
}

/// How many delivered ids a room remembers for de-duplication.
const RECENT_IDS: usize = 512;

/// Local sockets by room.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<RoomId, RoomSockets>>,
    next_conn: AtomicU64,
}

impl Hub {
    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomId, RoomSockets>> {
        match self.rooms.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Adds a socket to `room`, which held `stored_messages` when the socket was authorised at
    /// `admitted_at`; frames for the room arrive on `sender`. The room's first socket here
    /// calls `subscribe` (under the hub's lock, so a room never has two subscriptions, or
    /// none), and the room is served from `admitted_at` on.
    pub fn join(
        &self,
        room: RoomId,
        stored_messages: i64,
        admitted_at: DateTime<Utc>,
        sender: mpsc::Sender<Utf8Bytes>,
        subscribe: impl FnOnce() -> RoomSubscription,
    ) -> ConnId {
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms();
        let entry = rooms.entry(room).or_insert_with(|| RoomSockets {
            sockets: Vec::with_capacity(1),
            _subscription: subscribe(),
            recent: VecDeque::new(),
            since: admitted_at,
            messages: 0,
        });
        entry.messages = entry.messages.max(stored_messages);
        entry.sockets.push((conn, sender));
        metrics::gauge!("ws_open_sockets").increment(1.0);
        conn
    }

    /// Removes a socket; the room's subscription ends with its last socket.
    pub fn leave(&self, room: RoomId, conn: ConnId) {
        let mut rooms = self.rooms();
        let Some(entry) = rooms.get_mut(&room) else {
            return;
        };
        let before = entry.sockets.len();
        entry.sockets.retain(|(id, _)| *id != conn);
        if entry.sockets.len() < before {
            metrics::gauge!("ws_open_sockets").decrement(1.0);
        }
        if entry.sockets.is_empty() {
            rooms.remove(&room);
        }
    }

    /// Queues `frame` (message `id`) for every local socket of `room`, once per id. A socket
    /// whose queue is full is a slow reader: it is dropped from the room (its session then
    /// closes it) rather than let it grow memory or hold the room back.
    pub fn deliver(&self, room: RoomId, id: MessageId, frame: &Utf8Bytes) {
        let mut rooms = self.rooms();
        let Some(entry) = rooms.get_mut(&room) else {
            return;
        };
        if entry.recent.contains(&id) {
            return;
        }
        if entry.recent.len() == RECENT_IDS {
            entry.recent.pop_front();
        }
        entry.recent.push_back(id);
        entry.messages += 1;
        let mut delivered = 0u64;
        entry
            .sockets
            .retain(|(_, sender)| match sender.try_send(frame.clone()) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(_) => {
                    metrics::counter!("ws_slow_consumers_total").increment(1);
                    metrics::gauge!("ws_open_sockets").decrement(1.0);
                    false
                }
            });
        metrics::counter!("chat_messages_out_total").increment(delivered);
    }

    /// Whether `room` has reached `max` messages, as far as this replica has seen. Messages in
    /// flight on other replicas are not seen yet, so a room can end a burst above `max`.
    pub fn is_full(&self, room: RoomId, max: i64) -> bool {
        self.rooms()
            .get(&room)
            .is_some_and(|entry| entry.messages >= max)
    }

    /// When this replica started serving `room`, if it does.
    pub fn serving_since(&self, room: RoomId) -> Option<DateTime<Utc>> {
        self.rooms().get(&room).map(|entry| entry.since)
    }

    /// Local sockets right now.
    pub fn open_sockets(&self) -> usize {
        self.rooms().values().map(|r| r.sockets.len()).sum()
    }

    /// Rooms with local sockets (and so a NATS subscription).
    pub fn subscribed_rooms(&self) -> usize {
        self.rooms().len()
    }
}
