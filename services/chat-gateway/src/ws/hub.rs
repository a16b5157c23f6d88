//! The hub: this replica's sockets, by room. Delivery to local sockets never waits for NATS;
//! the first local socket of a room subscribes to the room's NATS subject (see
//! [`crate::fanout`]) and the last one to leave drops the subscription, so a replica carries
//! only the rooms it serves.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
};

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use shared::events::EventBus;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    domain::{MessageId, RoomId},
    store::ChatStore,
};

/// A socket's id within this replica.
pub type ConnId = u64;

struct RoomSockets {
    sockets: Vec<(ConnId, mpsc::Sender<Utf8Bytes>)>,
    remote: Option<JoinHandle<()>>,
    /// Ids of the messages delivered lately: a message can arrive both from this replica's
    /// commit and from NATS, or again from a catch-up read; each is delivered once.
    recent: VecDeque<MessageId>,
    /// When this replica started serving the room; catch-up never reaches further back.
    since: DateTime<Utc>,
    /// Messages in the room: the stored count when the room's first socket joined, plus every
    /// message delivered since.
    messages: i64,
}

/// How many delivered ids a room remembers for de-duplication.
const RECENT_IDS: usize = 512;

/// Local sockets by room.
pub struct Hub {
    rooms: Mutex<HashMap<RoomId, RoomSockets>>,
    next_conn: AtomicU64,
    bus: Arc<dyn EventBus>,
    store: Arc<dyn ChatStore>,
    replica_id: String,
    origin: Arc<str>,
}

impl Hub {
    /// A hub whose rooms subscribe on `bus`; `replica_id` marks this replica's own events.
    pub fn new(bus: Arc<dyn EventBus>, store: Arc<dyn ChatStore>, replica_id: String) -> Arc<Self> {
        Arc::new(Self {
            rooms: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            bus,
            store,
            origin: Arc::from(replica_id.as_str()),
            replica_id,
        })
    }

    /// This replica's id.
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// This replica's id, cheap to attach to every message.
    pub fn origin(&self) -> std::sync::Arc<str> {
        self.origin.clone()
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomId, RoomSockets>> {
        match self.rooms.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Adds a socket to `room`, which held `stored_messages` when the socket was authorised;
    /// frames for the room arrive on `sender`.
    pub fn join(
        self: &Arc<Self>,
        room: RoomId,
        stored_messages: i64,
        sender: mpsc::Sender<Utf8Bytes>,
    ) -> ConnId {
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms();
        let entry = rooms.entry(room).or_insert_with(|| RoomSockets {
            sockets: Vec::new(),
            remote: None,
            recent: VecDeque::with_capacity(RECENT_IDS),
            since: shared::time::now(),
            messages: 0,
        });
        entry.messages = entry.messages.max(stored_messages);
        if entry.remote.is_none() {
            entry.remote = Some(crate::fanout::spawn_room_subscription(
                Arc::downgrade(self),
                self.bus.clone(),
                self.store.clone(),
                room,
                self.replica_id.clone(),
            ));
        }
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
            if let Some(remote) = entry.remote.take() {
                remote.abort();
            }
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
