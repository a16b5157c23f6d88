//! The WebSocket frames: the guide's (`{"message": "..."}` in, the message object out, and
//! `{"error": "..."}` to the sender of an invalid frame), what `carinfo.v2` sockets add
//! (typing and read, `client_id` echoed to its sender) and the owner channel's.

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    domain::{ClientId, Message, MessageId, MessageText, Room, RoomId, SenderType},
    routes::rooms::RoomSummary,
};

/// The subprotocol a socket negotiates to receive more than the guide's frames.
pub const PROTOCOL_V2: &str = "carinfo.v2";

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

/// A message frame as its sender's `carinfo.v2` socket gets it: with the sender's
/// `client_id`.
pub fn with_client_id(frame: &Utf8Bytes, client_id: ClientId) -> Utf8Bytes {
    let object = frame.as_str().trim_end();
    let Some(open) = object.strip_suffix('}') else {
        return frame.clone();
    };
    Utf8Bytes::from(format!("{open},\"client_id\":\"{client_id}\"}}"))
}

/// `{"type": "typing", "room_id", "sender_type"}`.
pub fn typing_frame(room: RoomId, side: SenderType) -> Utf8Bytes {
    Utf8Bytes::from(
        serde_json::json!({ "type": "typing", "room_id": room.to_string(), "sender_type": side })
            .to_string(),
    )
}

/// `{"type": "read", "room_id", "sender_type", "message_id"}`.
pub fn read_frame(room: RoomId, side: SenderType, message: MessageId) -> Utf8Bytes {
    Utf8Bytes::from(
        serde_json::json!({
            "type": "read",
            "room_id": room.to_string(),
            "sender_type": side,
            "message_id": message.to_string(),
        })
        .to_string(),
    )
}

/// `{"type": "room_state", "room_id", "is_active"}`: the owner closed or reopened the room.
pub fn room_state_frame(room: &Room) -> Utf8Bytes {
    state_frame(room.id, room.is_active)
}

/// `{"type": "room_state", "room_id", "is_active"}` of `room`.
pub fn state_frame(room: RoomId, is_active: bool) -> Utf8Bytes {
    Utf8Bytes::from(
        serde_json::json!({
            "type": "room_state",
            "room_id": room.to_string(),
            "is_active": is_active,
        })
        .to_string(),
    )
}

/// The owner channel's `{"type": "message", "message": <the room socket's frame>}`.
pub fn owner_message_frame(frame: &Utf8Bytes) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        "{{\"type\":\"message\",\"message\":{}}}",
        frame.as_str()
    ))
}

/// The owner channel's `{"type": "room", "room": <the room as the owner's list shows it>}`.
pub fn owner_room_frame(room: &Room) -> Utf8Bytes {
    let room = RoomSummary::from(room.clone());
    Utf8Bytes::from(serde_json::json!({ "type": "room", "room": room }).to_string())
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
    /// The owner closed (or blocked) the room: the visitor's messages are refused.
    pub const ROOM_CLOSED: &str = "This chat is closed.";
    /// The room holds `ROOM_MAX_MESSAGES`.
    pub const ROOM_FULL: &str = "This chat is full.";
    /// The database is down.
    pub const NOT_SAVED: &str = "Message could not be saved; please try again.";
    /// `client_id` is not a UUID.
    pub const CLIENT_ID_NOT_UUID: &str = "Field \"client_id\" must be a UUID.";
    /// A read frame without a valid `message_id`.
    pub const MESSAGE_ID_NOT_UUID: &str = "Field \"message_id\" must be a UUID.";
    /// A read frame naming a message of another room.
    pub const UNKNOWN_MESSAGE: &str = "No such message in this chat.";
    /// A `type` this socket does not know.
    pub const UNKNOWN_TYPE: &str = "Unknown frame type.";
    /// Read frames faster than a socket may send them.
    pub const READS_RATE_LIMITED: &str = "Too many read frames; slow down.";
    /// The database is down: the read position was not stored.
    pub const READ_NOT_SAVED: &str = "Read position could not be saved; please try again.";
    /// Anything sent on the owner channel, which only listens.
    pub const RECEIVE_ONLY: &str = "This channel only sends; write in a chat's socket.";
}

/// What a client frame asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientFrame {
    /// Send a message, with the client's id for it if given.
    Message(MessageText, Option<ClientId>),
    /// The participant is typing (`carinfo.v2`).
    Typing,
    /// The participant has read up to this message (`carinfo.v2`).
    Read(MessageId),
}

#[derive(Deserialize)]
struct RawFrame {
    message: Option<Value>,
    client_id: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<Value>,
    message_id: Option<Value>,
}

/// Parses a client text frame, or says what to send back. Only a `carinfo.v2` socket (`v2`)
/// may send typing and read frames; to others a frame is a message, as in the guide.
pub fn parse_client_frame(text: &str, v2: bool) -> Result<ClientFrame, String> {
    let frame: RawFrame = match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => {
            serde_json::from_value(value).map_err(|_| reason::INVALID_JSON.to_owned())?
        }
        Ok(_) => return Err(reason::MISSING_MESSAGE.to_owned()),
        Err(_) => return Err(reason::INVALID_JSON.to_owned()),
    };
    match frame.kind.as_ref().filter(|_| v2) {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "message" => {}
        Some(Value::String(kind)) if kind == "typing" => return Ok(ClientFrame::Typing),
        Some(Value::String(kind)) if kind == "read" => {
            return uuid_field(frame.message_id.as_ref())
                .map(|id| ClientFrame::Read(MessageId(id)))
                .ok_or_else(|| reason::MESSAGE_ID_NOT_UUID.to_owned())
        }
        Some(_) => return Err(reason::UNKNOWN_TYPE.to_owned()),
    }
    let client_id = match &frame.client_id {
        None | Some(Value::Null) => None,
        present => Some(
            uuid_field(present.as_ref())
                .map(ClientId)
                .ok_or_else(|| reason::CLIENT_ID_NOT_UUID.to_owned())?,
        ),
    };
    match frame.message {
        None | Some(Value::Null) => Err(reason::MISSING_MESSAGE.to_owned()),
        Some(Value::String(s)) => MessageText::parse(&s)
            .map(|text| ClientFrame::Message(text, client_id))
            .map_err(|e| e.to_string()),
        Some(_) => Err(reason::MESSAGE_NOT_STRING.to_owned()),
    }
}

fn uuid_field(value: Option<&Value>) -> Option<uuid::Uuid> {
    value?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(frame: ClientFrame) -> String {
        match frame {
            ClientFrame::Message(text, _) => text.as_ref().to_owned(),
            other => panic!("not a message: {other:?}"),
        }
    }

    fn parse_client_frame(text: &str) -> Result<ClientFrame, String> {
        super::parse_client_frame(text, false)
    }

    #[test]
    fn client_frames_are_validated() {
        assert_eq!(
            text_of(parse_client_frame(r#"{"message":"Salom"}"#).unwrap()),
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

    #[test]
    fn typing_and_read_are_frames_of_v2_sockets_only() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            super::parse_client_frame(r#"{"type":"typing"}"#, true),
            Ok(ClientFrame::Typing)
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"typing"}"#).unwrap_err(),
            reason::MISSING_MESSAGE
        );
        assert_eq!(
            super::parse_client_frame(&format!(r#"{{"type":"read","message_id":"{id}"}}"#), true),
            Ok(ClientFrame::Read(MessageId(id)))
        );
        assert_eq!(
            super::parse_client_frame(r#"{"type":"read","message_id":5}"#, true).unwrap_err(),
            reason::MESSAGE_ID_NOT_UUID
        );
        assert_eq!(
            super::parse_client_frame(r#"{"type":"dance"}"#, true).unwrap_err(),
            reason::UNKNOWN_TYPE
        );
        assert_eq!(
            parse_client_frame(r#"{"message":"x","client_id":"nope"}"#).unwrap_err(),
            reason::CLIENT_ID_NOT_UUID
        );
        let frame = Utf8Bytes::from(r#"{"id":"1"}"#);
        let client = ClientId(id);
        assert_eq!(
            with_client_id(&frame, client).as_str(),
            format!(r#"{{"id":"1","client_id":"{id}"}}"#)
        );
    }
}
