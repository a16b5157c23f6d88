//! The SQLite half of the message batch write. The events leave from the messages table
//! itself (`super::message_log`).

use std::collections::HashMap;

use shared::time;
use sqlx::SqlitePool;

use super::{
    batch::{ordinals, preview, room_activity, Split},
    rows::{sender_type_str, ClientMessageRow, RoomRow, MESSAGE_COLUMNS, ROOM_COLUMNS},
    Committed, CommittedBatch, PendingMessage,
};
use crate::domain::Room;

#[derive(sqlx::FromRow)]
struct TouchedRow {
    #[sqlx(flatten)]
    room: RoomRow,
    base: i64,
}

/// Writes a batch statement by statement: SQLite has one writer, so a loop inside one
/// transaction costs one commit like a single statement would, and the rooms' counts it
/// updates first are the order its messages take.
pub(super) async fn insert_messages(
    pool: &SqlitePool,
    batch: &[PendingMessage],
) -> Result<CommittedBatch, sqlx::Error> {
    // Looked up before the transaction: one that reads first and writes later cannot wait for
    // another connection's write (SQLite refuses it at once), while one that writes first
    // waits its turn. A client id stored in between fails the insert on its unique index, and
    // the store tries again.
    let mut stored = HashMap::new();
    let find = format!(
        "select {MESSAGE_COLUMNS}, client_id from messages where room_id = ? and client_id = ?"
    );
    for p in batch {
        if let Some(client_id) = p.message.client_id {
            let row: Option<ClientMessageRow> = sqlx::query_as(&find)
                .bind(p.message.room_id.0)
                .bind(client_id.0)
                .fetch_optional(pool)
                .await?;
            stored.extend(row.map(ClientMessageRow::keyed));
        }
    }
    let split = Split::new(batch, &stored);
    if split.nothing_to_store() {
        return Ok(split.committed(Vec::new(), Vec::new()));
    }
    let mut tx = pool.begin().await?;
    let fresh: Vec<&PendingMessage> = split.fresh().collect();
    let at = time::to_micros(&time::now());
    let touch = format!(
        "update rooms set updated_at = max(updated_at, ?1), \
         last_message_id = ?2, last_message_sender = ?3, last_message_content = ?4, \
         last_message_at = max(coalesce(last_message_at, ?1), ?1), \
         unread_count = case when ?5 then ?6 else unread_count + ?6 end, \
         message_count = message_count + ?8 where id = ?7 and (is_active or ?9) \
         returning {ROOM_COLUMNS}, message_count - ?8 as base"
    );
    let mut placed = HashMap::new();
    let mut rooms = Vec::new();
    for a in room_activity(fresh.iter().map(|p| &p.message)) {
        // A room closed to its visitor takes none of the batch's messages when some are the
        // visitor's (`Committed::RoomClosed`).
        let touched: Option<TouchedRow> = sqlx::query_as(&touch)
            .bind(at)
            .bind(a.last.id.0)
            .bind(sender_type_str(a.last.sender_type))
            .bind(preview(&a.last.content))
            .bind(a.reset_unread)
            .bind(a.added_unread)
            .bind(a.room_id.0)
            .bind(a.added_messages)
            .bind(a.owner_only)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(touched) = touched else { continue };
        let room = Room::from(touched.room);
        let stamped = room.last_message.as_ref().map(|m| m.created_at);
        placed.insert(room.id, (stamped, touched.base));
        rooms.push(room);
    }
    let mut outcomes: Vec<Committed> = Vec::with_capacity(fresh.len());
    let places = ordinals(fresh.iter().map(|p| &p.message));
    for (p, place) in fresh.iter().zip(places) {
        let m = &p.message;
        let Some(&(stamped, base)) = placed.get(&m.room_id) else {
            outcomes.push(Committed::RoomClosed);
            continue;
        };
        let message = m.stored(stamped.unwrap_or_else(time::now), base + place);
        let at = time::to_micros(&message.created_at);
        sqlx::query(
            // One writer at a time: the next `seq` is the commit order.
            "insert into messages (id, room_id, sender_type, content, created_at, updated_at, traceparent, seq, position, client_id) \
             values (?, ?, ?, ?, ?, ?, ?, (select coalesce(max(seq), 0) + 1 from messages), ?, ?)",
        )
        .bind(m.id.0)
        .bind(m.room_id.0)
        .bind(sender_type_str(m.sender_type))
        .bind(&m.content)
        .bind(at)
        .bind(at)
        .bind(&p.traceparent)
        .bind(message.position)
        .bind(m.client_id.map(|c| c.0))
        .execute(&mut *tx)
        .await?;
        outcomes.push(Committed::Stored(message));
    }
    tx.commit().await?;
    Ok(split.committed(outcomes, rooms))
}
