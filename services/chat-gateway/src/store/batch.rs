//! A batch of messages on its way into the store: what it changes per room, where each
//! message goes in its room's order, and which messages repeat a client id already stored.

use std::collections::{BTreeMap, HashMap};

use super::{PendingMessage, PREVIEW_CHARS};
use crate::domain::{ClientId, Message, NewMessage, Room, RoomId, SenderType};

/// How one committed batch changes one room's inbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomActivity {
    /// The room.
    pub room_id: RoomId,
    /// Its newest message in the batch.
    pub last: NewMessage,
    /// The owner wrote in this batch: unread restarts from `added`.
    pub reset_unread: bool,
    /// Visitor messages since the owner last wrote.
    pub added_unread: i64,
    /// Messages of the room in the batch.
    pub added_messages: i64,
    /// Only the owner wrote: the batch goes into the room even when it is closed.
    pub owner_only: bool,
}

/// Folds a batch into one activity per room, sorted by room id so concurrent batches lock
/// rooms in the same order.
pub fn room_activity<'a>(batch: impl IntoIterator<Item = &'a NewMessage>) -> Vec<RoomActivity> {
    let mut by_room: BTreeMap<uuid::Uuid, RoomActivity> = Default::default();
    for m in batch {
        let entry = by_room.entry(m.room_id.0).or_insert_with(|| RoomActivity {
            room_id: m.room_id,
            last: m.clone(),
            reset_unread: false,
            added_unread: 0,
            added_messages: 0,
            owner_only: true,
        });
        entry.last = m.clone();
        entry.added_messages += 1;
        match m.sender_type {
            SenderType::Owner => {
                entry.reset_unread = true;
                entry.added_unread = 0;
            }
            SenderType::Visitor => {
                entry.added_unread += 1;
                entry.owner_only = false;
            }
        }
    }
    by_room.into_values().collect()
}

/// What a batch's commit did.
#[derive(Debug, Clone, Default)]
pub struct CommittedBatch {
    /// One per message of the batch, in its order.
    pub messages: Vec<Committed>,
    /// The rooms the batch added messages to, as the owner's list now shows them.
    pub rooms: Vec<Room>,
}

/// What became of one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Stored now.
    Stored(Message),
    /// Its client id was stored before, with this message, which is all the sender gets.
    Duplicate(Message),
    /// The room is closed to the visitor: nothing of the room's in this batch was stored (an
    /// owner's message is then committed again on its own).
    RoomClosed,
}

impl Committed {
    /// The stored message, if there is one.
    pub fn message(&self) -> Option<&Message> {
        match self {
            Self::Stored(message) | Self::Duplicate(message) => Some(message),
            Self::RoomClosed => None,
        }
    }
}

/// Where each new message of a batch goes: `ordinals[i]` is the 1-based place of the batch's
/// `i`-th fresh message among the batch's fresh messages of the same room. A room's first
/// message in the batch is stored at the room's count plus one, and so on.
pub fn ordinals<'a>(fresh: impl IntoIterator<Item = &'a NewMessage>) -> Vec<i64> {
    let mut per_room: HashMap<RoomId, i64> = Default::default();
    fresh
        .into_iter()
        .map(|m| {
            let n = per_room.entry(m.room_id).or_default();
            *n += 1;
            *n
        })
        .collect()
}

/// A batch split into the messages to store and those whose client id is already stored or
/// taken by an earlier message of the same batch.
pub struct Split<'a> {
    batch: &'a [PendingMessage],
    /// Indexes of the messages to store, in the batch's order.
    fresh: Vec<usize>,
    /// Indexes of the others, with the message each repeats.
    repeats: Vec<(usize, Repeat)>,
}

/// The message a repeated client id stands for.
#[derive(Debug, Clone)]
enum Repeat {
    /// Stored by an earlier batch.
    Stored(Message),
    /// The batch's message at this index.
    InBatch(usize),
}

impl<'a> Split<'a> {
    /// Splits `batch`, given the messages already `stored` by room and client id.
    pub fn new(batch: &'a [PendingMessage], stored: &HashMap<(RoomId, ClientId), Message>) -> Self {
        let mut fresh = Vec::with_capacity(batch.len());
        let mut repeats = Vec::new();
        let mut first: HashMap<(RoomId, ClientId), usize> = Default::default();
        for (i, pending) in batch.iter().enumerate() {
            let m = &pending.message;
            let Some(client_id) = m.client_id else {
                fresh.push(i);
                continue;
            };
            let key = (m.room_id, client_id);
            if let Some(original) = stored.get(&key) {
                repeats.push((i, Repeat::Stored(original.clone())));
            } else if let Some(&earlier) = first.get(&key) {
                repeats.push((i, Repeat::InBatch(earlier)));
            } else {
                first.insert(key, i);
                fresh.push(i);
            }
        }
        Self {
            batch,
            fresh,
            repeats,
        }
    }

    /// The messages to store, with their senders' traces, in the batch's order.
    pub fn fresh(&self) -> impl Iterator<Item = &'a PendingMessage> + '_ {
        self.fresh.iter().map(|&i| &self.batch[i])
    }

    /// Whether there is nothing to store.
    pub fn nothing_to_store(&self) -> bool {
        self.fresh.is_empty()
    }

    /// The batch's outcome, from what became of the fresh messages (in [`Self::fresh`]'s
    /// order: stored, or refused with their closed room) and the rooms they changed.
    pub fn committed(self, fresh: Vec<Committed>, rooms: Vec<Room>) -> CommittedBatch {
        let mut messages: Vec<Option<Committed>> = vec![None; self.batch.len()];
        for (&i, outcome) in self.fresh.iter().zip(fresh) {
            messages[i] = Some(outcome);
        }
        for (i, repeat) in self.repeats {
            messages[i] = match repeat {
                Repeat::Stored(message) => Some(Committed::Duplicate(message)),
                Repeat::InBatch(earlier) => messages[earlier].as_ref().map(|c| match c {
                    Committed::Stored(message) | Committed::Duplicate(message) => {
                        Committed::Duplicate(message.clone())
                    }
                    Committed::RoomClosed => Committed::RoomClosed,
                }),
            };
        }
        CommittedBatch {
            messages: messages.into_iter().flatten().collect(),
            rooms,
        }
    }
}

/// The preview kept on the room for the inbox.
pub fn preview(content: &str) -> String {
    content.chars().take(PREVIEW_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MessageText;
    use shared::ids::UserId;

    fn pending(room: RoomId, sender: SenderType) -> PendingMessage {
        PendingMessage {
            message: NewMessage::new(room, sender, MessageText::parse("x").unwrap(), None),
            owner_id: UserId::new_random(),
            traceparent: None,
        }
    }

    #[test]
    fn activity_counts_visitor_messages_since_the_owner_last_wrote() {
        let a = RoomId::generate();
        let b = RoomId::generate();
        let batch = [
            pending(a, SenderType::Visitor),
            pending(a, SenderType::Owner),
            pending(a, SenderType::Visitor),
            pending(b, SenderType::Visitor),
            pending(b, SenderType::Visitor),
        ];
        let activity = room_activity(batch.iter().map(|p| &p.message));
        let of = |room: RoomId| activity.iter().find(|x| x.room_id == room).unwrap();
        assert!(of(a).reset_unread);
        assert_eq!(of(a).added_unread, 1);
        assert_eq!(of(a).last, batch[2].message);
        assert!(!of(b).reset_unread);
        assert_eq!(of(b).added_unread, 2);
        assert_eq!(of(a).added_messages, 3);
    }

    #[test]
    fn a_repeated_client_id_is_stored_once_and_answered_with_the_original() {
        let room = RoomId::generate();
        let client = Some(ClientId(uuid::Uuid::new_v4()));
        let mut batch = vec![
            pending(room, SenderType::Visitor),
            pending(room, SenderType::Visitor),
            pending(room, SenderType::Visitor),
        ];
        batch[0].message.client_id = client;
        batch[2].message.client_id = client;
        let split = Split::new(&batch, &HashMap::new());
        let fresh: Vec<&NewMessage> = split.fresh().map(|p| &p.message).collect();
        assert_eq!(fresh, vec![&batch[0].message, &batch[1].message]);
        assert_eq!(ordinals(fresh.iter().copied()), vec![1, 2]);
        let stored: Vec<Message> = fresh
            .iter()
            .zip(1..)
            .map(|(m, position)| m.stored(chrono::Utc::now(), position))
            .collect();
        let outcome = split.committed(
            stored.iter().cloned().map(Committed::Stored).collect(),
            Vec::new(),
        );
        assert_eq!(outcome.messages[2], Committed::Duplicate(stored[0].clone()));
        assert_eq!(outcome.messages[1], Committed::Stored(stored[1].clone()));
    }
}
