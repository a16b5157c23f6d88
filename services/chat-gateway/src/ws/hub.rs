//! The hub: this replica's sockets, by room and by owner, and nothing else. It queues frames
//! for local sockets, in each room's order and once per message, and counts a room's
//! messages; what a room or an owner channel needs from outside the replica (its NATS
//! subscription) is [`crate::fanout`]'s, which hands the hub a [`Subscription`] to hold for as
//! long as there are sockets to serve here.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
};

use axum::extract::ws::Utf8Bytes;
use shared::ids::UserId;
use tokio::{
    sync::{mpsc, Notify},
    task::AbortHandle,
};

use crate::domain::{MessageId, RoomId, SenderType};

/// A socket's id within this replica.
pub type ConnId = u64;

/// What keeps remote deliveries coming; ended when the last socket it serves leaves.
pub struct Subscription(pub AbortHandle);

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A frame queued for a room socket.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The text frame.
    pub frame: Utf8Bytes,
    /// For a message: its id and place in the room.
    pub message: Option<(MessageId, i64)>,
}

/// A room socket as the hub knows it.
pub struct RoomSocket {
    /// Its id.
    pub conn: ConnId,
    /// Its queue.
    pub sender: mpsc::Sender<Outgoing>,
    /// Whose socket it is.
    pub side: SenderType,
    /// Negotiated `carinfo.v2`: gets typing and read frames.
    pub v2: bool,
}

struct RoomSockets {
    sockets: Vec<RoomSocket>,
    _subscription: Subscription,
    /// The place of the last message delivered: the next is `delivered + 1`.
    delivered: i64,
    /// Messages that arrived ahead of one still missing (another replica's commit whose copy
    /// is late), by place. Empty, and unallocated, but for such moments.
    held: BTreeMap<i64, (MessageId, Utf8Bytes)>,
    /// Woken when a message is missing: the room's subscription then reads it back.
    gap: Arc<Notify>,
    /// Messages in the room as far as this replica knows.
    messages: i64,
}

/// How many early messages a room holds while one is missing; past it they are dropped, and
/// read back from the database with the missing one.
const MAX_HELD: usize = 1024;

/// Which room sockets a signal goes to.
#[derive(Debug, Clone, Copy)]
pub struct Audience {
    /// Not this socket (the sender's own).
    pub except: Option<ConnId>,
    /// Only this side's sockets.
    pub side: Option<SenderType>,
}

struct OwnerSockets {
    sockets: Vec<(ConnId, mpsc::Sender<Utf8Bytes>)>,
    _subscription: Subscription,
}

/// Local sockets by room and owner channels by owner.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<RoomId, RoomSockets>>,
    owners: Mutex<HashMap<UserId, OwnerSockets>>,
    next_conn: AtomicU64,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Hub {
    /// A new socket id.
    pub fn next_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds `socket` to `room`, which held `stored_messages` when the socket was authorised.
    /// The room's first socket here calls `subscribe` (under the hub's lock, so a room never
    /// has two subscriptions, or none) with the notifier of missing messages, and the room is
    /// served from its `stored_messages + 1`-th message on.
    pub fn join(
        &self,
        room: RoomId,
        stored_messages: i64,
        socket: RoomSocket,
        subscribe: impl FnOnce(Arc<Notify>) -> Subscription,
    ) {
        let mut rooms = locked(&self.rooms);
        let entry = rooms.entry(room).or_insert_with(|| {
            let gap = Arc::new(Notify::new());
            RoomSockets {
                sockets: Vec::with_capacity(1),
                _subscription: subscribe(gap.clone()),
                delivered: stored_messages,
                held: BTreeMap::new(),
                gap,
                messages: stored_messages,
            }
        });
        entry.messages = entry.messages.max(stored_messages);
        entry.sockets.push(socket);
        metrics::gauge!("ws_open_sockets").increment(1.0);
    }

    /// Removes a socket; the room's subscription ends with its last socket.
    pub fn leave(&self, room: RoomId, conn: ConnId) {
        let mut rooms = locked(&self.rooms);
        let Some(entry) = rooms.get_mut(&room) else {
            return;
        };
        let before = entry.sockets.len();
        entry.sockets.retain(|s| s.conn != conn);
        if entry.sockets.len() < before {
            metrics::gauge!("ws_open_sockets").decrement(1.0);
        }
        if entry.sockets.is_empty() {
            rooms.remove(&room);
        }
    }

    /// Queues message `id`, the room's `position`-th, for every local socket of `room`, in the
    /// room's order and once. A message ahead of one not delivered yet waits for it (the room's
    /// subscription is woken to read it back). A socket whose queue is full is a slow reader:
    /// it is dropped from the room (its session then closes it) rather than let it grow memory
    /// or hold the room back.
    pub fn deliver(&self, room: RoomId, id: MessageId, position: i64, frame: &Utf8Bytes) {
        let mut rooms = locked(&self.rooms);
        let Some(entry) = rooms.get_mut(&room) else {
            return;
        };
        if position <= entry.delivered {
            return;
        }
        if position > entry.delivered + 1 {
            if entry.held.len() < MAX_HELD {
                entry.held.insert(position, (id, frame.clone()));
            }
            entry.gap.notify_one();
            return;
        }
        entry.send_message(id, position, frame.clone());
        while let Some(next) = entry.held.first_entry() {
            let place = *next.key();
            if place > entry.delivered + 1 {
                break;
            }
            let (id, frame) = next.remove();
            if place == entry.delivered + 1 {
                entry.send_message(id, place, frame);
            }
        }
    }

    /// Queues a typing or read frame for the room's `carinfo.v2` sockets in `audience`. Full
    /// queues skip it: it is a hint, and a slow reader is dealt with by the messages.
    pub fn signal(&self, room: RoomId, audience: Audience, frame: &Utf8Bytes) {
        let rooms = locked(&self.rooms);
        let Some(entry) = rooms.get(&room) else {
            return;
        };
        for socket in &entry.sockets {
            if socket.v2
                && Some(socket.conn) != audience.except
                && audience.side.is_none_or(|side| side == socket.side)
            {
                let _ = socket.sender.try_send(Outgoing {
                    frame: frame.clone(),
                    message: None,
                });
            }
        }
    }

    /// Whether `room` has sockets here and a message it holds back waits for a missing one.
    pub fn is_missing_messages(&self, room: RoomId) -> bool {
        locked(&self.rooms)
            .get(&room)
            .is_some_and(|entry| !entry.held.is_empty())
    }

    /// The place of the last message of `room` delivered here, while it has sockets here.
    pub fn delivered(&self, room: RoomId) -> Option<i64> {
        locked(&self.rooms).get(&room).map(|entry| entry.delivered)
    }

    /// Whether `room` has reached `max` messages, as far as this replica has seen. Messages in
    /// flight on other replicas are not seen yet, so a room can end a burst above `max`.
    pub fn is_full(&self, room: RoomId, max: i64) -> bool {
        locked(&self.rooms)
            .get(&room)
            .is_some_and(|entry| entry.messages >= max)
    }

    /// Adds an owner channel; the owner's first channel here calls `subscribe`.
    pub fn join_owner(
        &self,
        owner: UserId,
        conn: ConnId,
        sender: mpsc::Sender<Utf8Bytes>,
        subscribe: impl FnOnce() -> Subscription,
    ) {
        let mut owners = locked(&self.owners);
        owners
            .entry(owner)
            .or_insert_with(|| OwnerSockets {
                sockets: Vec::with_capacity(1),
                _subscription: subscribe(),
            })
            .sockets
            .push((conn, sender));
        metrics::gauge!("ws_owner_channels").increment(1.0);
    }

    /// Removes an owner channel; the owner's subscription ends with the last.
    pub fn leave_owner(&self, owner: UserId, conn: ConnId) {
        let mut owners = locked(&self.owners);
        let Some(entry) = owners.get_mut(&owner) else {
            return;
        };
        let before = entry.sockets.len();
        entry.sockets.retain(|(id, _)| *id != conn);
        if entry.sockets.len() < before {
            metrics::gauge!("ws_owner_channels").decrement(1.0);
        }
        if entry.sockets.is_empty() {
            owners.remove(&owner);
        }
    }

    /// Whether `owner` has a channel here (so a frame is worth building).
    pub fn has_owner_channel(&self, owner: UserId) -> bool {
        locked(&self.owners).contains_key(&owner)
    }

    /// Queues `frame` for every owner channel of `owner` here. A channel that cannot keep up
    /// is dropped (its session closes it, and the client resynchronises).
    pub fn deliver_to_owner(&self, owner: UserId, frame: &Utf8Bytes) {
        let mut owners = locked(&self.owners);
        let Some(entry) = owners.get_mut(&owner) else {
            return;
        };
        entry
            .sockets
            .retain(|(_, sender)| match sender.try_send(frame.clone()) {
                Ok(()) => true,
                Err(_) => {
                    metrics::gauge!("ws_owner_channels").decrement(1.0);
                    false
                }
            });
    }

    /// Ends every owner channel of `owner` here: they may have missed frames (NATS was
    /// unreachable), and a client that reconnects reads the rooms again.
    pub fn reset_owner(&self, owner: UserId) {
        if let Some(entry) = locked(&self.owners).get_mut(&owner) {
            let dropped = entry.sockets.len();
            entry.sockets.clear();
            metrics::gauge!("ws_owner_channels").decrement(dropped as f64);
        }
    }

    /// Local room sockets right now.
    pub fn open_sockets(&self) -> usize {
        locked(&self.rooms).values().map(|r| r.sockets.len()).sum()
    }

    /// Rooms with local sockets (and so a NATS subscription).
    pub fn subscribed_rooms(&self) -> usize {
        locked(&self.rooms).len()
    }
}

impl RoomSockets {
    fn send_message(&mut self, id: MessageId, position: i64, frame: Utf8Bytes) {
        self.delivered = position;
        self.messages = self.messages.max(position);
        let mut delivered = 0u64;
        self.sockets.retain(|socket| {
            match socket.sender.try_send(Outgoing {
                frame: frame.clone(),
                message: Some((id, position)),
            }) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(_) => {
                    metrics::counter!("ws_slow_consumers_total").increment(1);
                    metrics::gauge!("ws_open_sockets").decrement(1.0);
                    false
                }
            }
        });
        metrics::counter!("chat_messages_out_total").increment(delivered);
    }
}
