//! What an owner's device shows: the push payload, a JSON object the web client's service
//! worker reads (docs/api-guide.md, "Push notifications"). Its fields are a contract:
//! `{"type": "room"|"message", "room_id", "title", "body", "url"}`.

use serde::Serialize;
use uuid::Uuid;

/// Characters of a message shown in a notification, the ellipsis included.
pub const PREVIEW_CHARS: usize = 120;

/// What happened in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A visitor opened the room; the name they gave ("" when none).
    Room {
        /// The room.
        room_id: Uuid,
        /// The visitor's name, trimmed.
        visitor_name: String,
    },
    /// The latest visitor message not yet notified, as a preview.
    Message {
        /// The room.
        room_id: Uuid,
        /// [`preview`] of the message.
        preview: String,
    },
}

/// The payload's JSON.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    room_id: String,
    title: &'a str,
    body: &'a str,
    url: String,
}

impl Notification {
    /// The room it is about.
    pub fn room_id(&self) -> Uuid {
        match self {
            Self::Room { room_id, .. } | Self::Message { room_id, .. } => *room_id,
        }
    }

    /// The payload sent to every subscription of the owner.
    pub fn payload(&self) -> String {
        let room_id = self.room_id();
        let (kind, title, body) = match self {
            Self::Room { visitor_name, .. } if visitor_name.is_empty() => {
                ("room", "New chat", "A visitor")
            }
            Self::Room { visitor_name, .. } => ("room", "New chat", visitor_name.as_str()),
            Self::Message { preview, .. } => ("message", "New message", preview.as_str()),
        };
        let payload = Payload {
            kind,
            room_id: room_id.to_string(),
            title,
            body,
            url: format!("/app/#room={room_id}"),
        };
        // A struct of strings always serialises.
        serde_json::to_string(&payload).unwrap_or_default()
    }
}

/// A message as a notification shows it: trimmed, line breaks as spaces, at most
/// [`PREVIEW_CHARS`] characters (a longer one ends with `…`).
pub fn preview(content: &str) -> String {
    let flat: String = content
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= PREVIEW_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(PREVIEW_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_exactly_the_documented_fields() {
        let room_id = Uuid::new_v4();
        let room: serde_json::Value = serde_json::from_str(
            &Notification::Room {
                room_id,
                visitor_name: "Neighbour".into(),
            }
            .payload(),
        )
        .unwrap();
        assert_eq!(
            room,
            serde_json::json!({
                "type": "room", "room_id": room_id.to_string(), "title": "New chat",
                "body": "Neighbour", "url": format!("/app/#room={room_id}"),
            })
        );
        let message: serde_json::Value = serde_json::from_str(
            &Notification::Message {
                room_id,
                preview: "Salom".into(),
            }
            .payload(),
        )
        .unwrap();
        assert_eq!(message["type"], "message");
        assert_eq!(message["body"], "Salom");
        let anonymous: serde_json::Value = serde_json::from_str(
            &Notification::Room {
                room_id,
                visitor_name: String::new(),
            }
            .payload(),
        )
        .unwrap();
        assert_eq!(anonymous["body"], "A visitor");
    }

    #[test]
    fn previews_are_cut_to_120_characters_with_an_ellipsis() {
        assert_eq!(preview("  Salom\nqalaysiz  "), "Salom qalaysiz");
        let long = "ё".repeat(500);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(preview(&"a".repeat(120)), "a".repeat(120));
    }

    proptest::proptest! {
        #[test]
        fn a_preview_is_never_longer_than_the_limit(text in "\\PC{0,400}") {
            proptest::prop_assert!(preview(&text).chars().count() <= PREVIEW_CHARS);
        }
    }
}
