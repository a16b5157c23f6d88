//! Coalescing: what a room still has to tell its owner, and what sending it leaves behind.
//!
//! A room notifies at most once per window. The new room goes out at once; a visitor message
//! goes out at once when the room's window is over, otherwise when it ends, and a message
//! arriving while one waits replaces its preview: the notification at the end of the window
//! carries the latest one. The state is a row (`push_rooms`), so a restart loses nothing.

use chrono::{DateTime, Duration, Utc};
use shared::ids::UserId;
use uuid::Uuid;

use super::Notification;

/// A room's notification state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRoom {
    /// The room.
    pub room_id: Uuid,
    /// Its owner.
    pub owner_id: UserId,
    /// The visitor's name ("" when none or not known yet).
    pub visitor_name: String,
    /// The room itself has not been notified yet.
    pub room_pending: bool,
    /// The latest visitor message not yet notified: its preview.
    pub message_preview: Option<String>,
    /// When the latest visitor message seen was written.
    pub message_at: Option<DateTime<Utc>>,
    /// When the next notification goes out; `None`: nothing pending.
    pub due_at: Option<DateTime<Utc>>,
    /// The end of the room's window: no notification before it.
    pub next_allowed_at: Option<DateTime<Utc>>,
    /// Moves with every write; the dispatcher writes only the revision it read.
    pub revision: i64,
}

/// What dispatching a due room does: the notification to send (if any) and the room's state
/// afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// What to send to every subscription of the owner; `None` when nothing is to be sent.
    pub notification: Option<Notification>,
    /// The room's state once this is recorded.
    pub after: PendingRoom,
}

/// Why a due notification is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// The owner is not accepting messages.
    Paused,
    /// The owner's quiet time has not ended.
    Quiet,
}

impl PendingRoom {
    /// Sends what is due now: the room first, else the message; whatever remains waits for
    /// the end of the new window. With `silence`, everything pending is dropped unsent.
    pub fn dispatch(
        &self,
        now: DateTime<Utc>,
        window: Duration,
        silence: Option<Silence>,
    ) -> Dispatch {
        let mut after = self.clone();
        after.revision += 1;
        if silence.is_some() {
            after.room_pending = false;
            after.message_preview = None;
            after.due_at = None;
            return Dispatch {
                notification: None,
                after,
            };
        }
        let notification = if self.room_pending {
            after.room_pending = false;
            Some(Notification::Room {
                room_id: self.room_id,
                visitor_name: self.visitor_name.clone(),
            })
        } else {
            after.message_preview = None;
            self.message_preview
                .clone()
                .map(|preview| Notification::Message {
                    room_id: self.room_id,
                    preview,
                })
        };
        if notification.is_some() {
            after.next_allowed_at = Some(now + window);
        }
        after.due_at = after
            .message_preview
            .is_some()
            .then_some(after.next_allowed_at.unwrap_or(now));
        Dispatch {
            notification,
            after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(room_pending: bool, preview: Option<&str>) -> PendingRoom {
        let now = shared::time::now();
        PendingRoom {
            room_id: Uuid::new_v4(),
            owner_id: UserId::new_random(),
            visitor_name: "Neighbour".into(),
            room_pending,
            message_preview: preview.map(str::to_owned),
            message_at: preview.map(|_| now),
            due_at: Some(now),
            next_allowed_at: None,
            revision: 3,
        }
    }

    #[test]
    fn the_room_goes_first_and_a_waiting_message_at_the_end_of_the_window() {
        let now = shared::time::now();
        let window = Duration::seconds(30);
        let pending = room(true, Some("Salom"));

        let first = pending.dispatch(now, window, None);
        assert!(matches!(
            first.notification,
            Some(Notification::Room { .. })
        ));
        assert_eq!(first.after.due_at, Some(now + window));
        assert_eq!(first.after.revision, 4);

        let second = first.after.dispatch(now + window, window, None);
        assert_eq!(
            second.notification,
            Some(Notification::Message {
                room_id: pending.room_id,
                preview: "Salom".into()
            })
        );
        assert_eq!(second.after.due_at, None);
        assert_eq!(second.after.next_allowed_at, Some(now + window + window));
    }

    #[test]
    fn nothing_pending_sends_nothing_and_keeps_the_window() {
        let now = shared::time::now();
        let mut idle = room(false, None);
        idle.next_allowed_at = Some(now);
        let dispatch = idle.dispatch(now, Duration::seconds(30), None);
        assert_eq!(dispatch.notification, None);
        assert_eq!(dispatch.after.next_allowed_at, Some(now));
        assert_eq!(dispatch.after.due_at, None);
    }

    #[test]
    fn a_silenced_owner_gets_nothing_and_nothing_waits() {
        let now = shared::time::now();
        for silence in [Silence::Paused, Silence::Quiet] {
            let dispatch =
                room(true, Some("Salom")).dispatch(now, Duration::seconds(30), Some(silence));
            assert_eq!(dispatch.notification, None);
            assert!(!dispatch.after.room_pending);
            assert_eq!(dispatch.after.message_preview, None);
            assert_eq!(dispatch.after.due_at, None);
        }
    }
}
