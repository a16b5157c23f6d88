//! How many sockets each room and each participant of a room hold on this replica, and how
//! many owner channels each owner. A slot is claimed at the handshake, before the upgrade, and
//! given back when the session ends, so a visitor token cannot hoard sockets (a visitor has a
//! tab or two; an owner a phone and a browser).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::domain::SenderType;

use uuid::Uuid;

#[derive(Default)]
struct RoomCount {
    visitor: usize,
    owner: usize,
}

impl RoomCount {
    fn side(&mut self, sender: SenderType) -> &mut usize {
        match sender {
            SenderType::Visitor => &mut self.visitor,
            SenderType::Owner => &mut self.owner,
        }
    }
}

/// The socket counts of every room with sockets here.
pub struct SocketSlots {
    per_participant: usize,
    per_room: usize,
    rooms: Mutex<HashMap<Uuid, RoomCount>>,
}

/// One claimed socket; dropping it gives the slot back.
pub struct SocketSlot {
    slots: Arc<SocketSlots>,
    room: Uuid,
    sender: SenderType,
}

impl SocketSlots {
    /// Slots with the given bounds.
    pub fn new(per_participant: usize, per_room: usize) -> Arc<Self> {
        Arc::new(Self {
            per_participant: per_participant.max(1),
            per_room: per_room.max(1),
            rooms: Mutex::new(HashMap::new()),
        })
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<Uuid, RoomCount>> {
        match self.rooms.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Claims a socket of `sender` on `room` (a room's id, or an owner's for the owner's
    /// channels), or `None` when either bound is reached.
    pub fn claim(self: &Arc<Self>, room: Uuid, sender: SenderType) -> Option<SocketSlot> {
        let mut rooms = self.rooms();
        let count = rooms.entry(room).or_default();
        if count.visitor + count.owner >= self.per_room
            || *count.side(sender) >= self.per_participant
        {
            if count.visitor + count.owner == 0 {
                rooms.remove(&room);
            }
            return None;
        }
        *count.side(sender) += 1;
        Some(SocketSlot {
            slots: self.clone(),
            room,
            sender,
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut rooms = self.slots.rooms();
        if let Some(count) = rooms.get_mut(&self.room) {
            let side = count.side(self.sender);
            *side = side.saturating_sub(1);
            if count.visitor + count.owner == 0 {
                rooms.remove(&self.room);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_participant_and_a_room_get_their_share_and_get_it_back() {
        let slots = SocketSlots::new(2, 3);
        let room = Uuid::new_v4();
        let first = slots.claim(room, SenderType::Visitor).unwrap();
        let _second = slots.claim(room, SenderType::Visitor).unwrap();
        assert!(slots.claim(room, SenderType::Visitor).is_none());
        let _owner = slots.claim(room, SenderType::Owner).unwrap();
        assert!(slots.claim(room, SenderType::Owner).is_none());
        drop(first);
        assert!(slots.claim(room, SenderType::Visitor).is_some());
        assert!(slots.claim(Uuid::new_v4(), SenderType::Visitor).is_some());
    }
}
