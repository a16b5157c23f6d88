//! The whole history as one JSON array, read and sent a chunk at a time, so a read costs the
//! same memory whatever the room holds.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    http::header,
    response::{IntoResponse, Response},
};

use super::HistoryMessage;
use crate::{
    domain::{Message, MessageId, RoomId},
    store::ChatStore,
};

/// Messages read per query while streaming a whole history.
pub const CHUNK: i64 = 100;

enum Phase {
    Open(Vec<Message>),
    Chunk(Vec<Message>),
    Close,
    Done,
}

struct HistoryCursor {
    store: Arc<dyn ChatStore>,
    room: RoomId,
    after: Option<MessageId>,
    wrote_any: bool,
    phase: Phase,
}

/// The JSON array of the room's messages from `first` on: `[`, then each chunk read as the
/// previous one is sent, then `]`.
pub fn stream_history(store: Arc<dyn ChatStore>, room: RoomId, first: Vec<Message>) -> Response {
    let cursor = HistoryCursor {
        store,
        room,
        after: None,
        wrote_any: false,
        phase: Phase::Open(first),
    };
    let chunks = futures::stream::unfold(cursor, |mut cursor| async move {
        let bytes = match std::mem::replace(&mut cursor.phase, Phase::Done) {
            Phase::Open(first) => {
                cursor.phase = Phase::Chunk(first);
                Bytes::from_static(b"[")
            }
            Phase::Chunk(page) => {
                let full = page.len() as i64 == CHUNK;
                let mut buf = Vec::with_capacity(page.len() * 256);
                for message in &page {
                    if std::mem::replace(&mut cursor.wrote_any, true) {
                        buf.push(b',');
                    }
                    if let Err(e) = serde_json::to_writer(&mut buf, &HistoryMessage::from(message))
                    {
                        return Some((Err(std::io::Error::other(e)), cursor));
                    }
                }
                cursor.after = page.last().map(|m| m.id).or(cursor.after);
                cursor.phase = if full {
                    match cursor
                        .store
                        .list_messages(cursor.room, cursor.after, Some(CHUNK))
                        .await
                    {
                        Ok(next) => Phase::Chunk(next),
                        // Headers are gone: ending the body early is how the client learns.
                        Err(e) => return Some((Err(std::io::Error::other(e)), cursor)),
                    }
                } else {
                    Phase::Close
                };
                Bytes::from(buf)
            }
            Phase::Close => Bytes::from_static(b"]"),
            Phase::Done => return None,
        };
        Some((Ok(bytes), cursor))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}
