//! The WebSocket frames of the guide: `{"message": "..."}` in, the message object out, and
//! `{"error": "..."}` to the sender of an invalid frame.

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Message, MessageText};

/// What the server broadcasts for each committed message.
#[derive(Serialize)]
pub struct MessageFrame<'a> {
    /// Message id (clients de-duplicate on it).
    pub id: String,
    /// Room id.
    pub room_id: String,
    /// `visitor` or `owner`.
    pub sender_type: crate::domain::SenderType,
    /// The text.
    pub message: &'a str,
    /// Commit time.
    pub created_at: String,
}

/// The broadcast frame of `message`, serialised once for every socket of the room.
pub fn message_frame(message: &Message) -> Utf8Bytes {
    let frame = MessageFrame {
        id: message.id.to_string(),
        room_id: message.room_id.to_string(),
        sender_type: message.sender_type,
        message: &message.content,
        created_at: shared::time::format(&message.created_at),
    };
    Utf8Bytes::from(serde_json::to_string(&frame).unwrap_or_default())
}

/// `{"error": "..."}`.
pub fn error_frame(reason: &str) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::json!({ "error": reason }).to_string())
}

/// Reasons a frame is refused; the texts go to the client.
pub mod reason {
    /// Not JSON.
    pub const INVALID_JSON: &str = "Invalid JSON.";
    /// No `message` field.
    pub const MISSING_MESSAGE: &str = "Field \"message\" is required.";
    /// `message` is not a string.
    pub const MESSAGE_NOT_STRING: &str = "Field \"message\" must be a string.";
    /// Binary frame.
    pub const BINARY: &str = "Binary frames are not supported; send JSON text.";
    /// Per-participant rate limit.
    pub const RATE_LIMITED: &str = "Too many messages; slow down.";
    /// The room holds `ROOM_MAX_MESSAGES`.
    pub const ROOM_FULL: &str = "This chat is full.";
    /// The database is down.
    pub const NOT_SAVED: &str = "Message could not be saved; please try again.";
}

#[derive(Deserialize)]
struct ClientFrame {
    message: Option<Value>,
}

/// Parses a client text frame into message text, or the reason to send back.
pub fn parse_client_frame(text: &str) -> Result<MessageText, String> {
    let frame: ClientFrame = match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => {
            serde_json::from_value(value).map_err(|_| reason::INVALID_JSON.to_owned())?
        }
        Ok(_) => return Err(reason::MISSING_MESSAGE.to_owned()),
        Err(_) => return Err(reason::INVALID_JSON.to_owned()),
    };
    match frame.message {
        None | Some(Value::Null) => Err(reason::MISSING_MESSAGE.to_owned()),
        Some(Value::String(s)) => MessageText::parse(&s).map_err(|e| e.to_string()),
        Some(_) => Err(reason::MESSAGE_NOT_STRING.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_are_validated() {
        assert_eq!(
            parse_client_frame(r#"{"message":"Salom"}"#)
                .unwrap()
                .as_ref(),
            "Salom"
        );
        assert_eq!(
            parse_client_frame("nope").unwrap_err(),
            reason::INVALID_JSON
        );
        assert_eq!(
            parse_client_frame("[1]").unwrap_err(),
            reason::MISSING_MESSAGE
        );
        assert_eq!(
            parse_client_frame("{}").unwrap_err(),
            reason::MISSING_MESSAGE
        );
        assert_eq!(
            parse_client_frame(r#"{"message":5}"#).unwrap_err(),
            reason::MESSAGE_NOT_STRING
        );
        assert_eq!(
            parse_client_frame(r#"{"message":"  "}"#).unwrap_err(),
            "Message must not be blank."
        );
    }
}
