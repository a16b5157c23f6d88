//! The SQLite half of the message batch write. The events leave from the messages table
//! itself (`super::message_log`).

use shared::time;
use sqlx::SqlitePool;

use super::{preview, room_activity, rows::sender_type_str, PendingMessage};

/// Writes a batch statement by statement: SQLite has one writer, so a loop inside one
/// transaction costs one commit like a single statement would.
pub(super) async fn insert_messages(
    pool: &SqlitePool,
    batch: &[PendingMessage],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for p in batch {
        let m = &p.message;
        let at = time::to_micros(&m.created_at);
        sqlx::query(
            // One writer at a time: the next `seq` is the commit order.
            "insert into messages (id, room_id, sender_type, content, created_at, updated_at, traceparent, seq) \
             values (?, ?, ?, ?, ?, ?, ?, (select coalesce(max(seq), 0) + 1 from messages))",
        )
        .bind(m.id.0)
        .bind(m.room_id.0)
        .bind(sender_type_str(m.sender_type))
        .bind(&m.content)
        .bind(at)
        .bind(at)
        .bind(&p.traceparent)
        .execute(&mut *tx)
        .await?;
    }
    for a in room_activity(batch) {
        let at = time::to_micros(&a.last.created_at);
        sqlx::query(
            "update rooms set updated_at = max(updated_at, ?1), \
             last_message_id = case when ?1 >= coalesce(last_message_at, ?1) then ?2 else last_message_id end, \
             last_message_sender = case when ?1 >= coalesce(last_message_at, ?1) then ?3 else last_message_sender end, \
             last_message_content = case when ?1 >= coalesce(last_message_at, ?1) then ?4 else last_message_content end, \
             last_message_at = max(coalesce(last_message_at, ?1), ?1), \
             unread_count = case when ?5 then ?6 else unread_count + ?6 end, \
             message_count = message_count + ?8 where id = ?7",
        )
        .bind(at)
        .bind(a.last.id.0)
        .bind(sender_type_str(a.last.sender_type))
        .bind(preview(&a.last.content))
        .bind(a.reset_unread)
        .bind(a.added_unread)
        .bind(a.room_id.0)
        .bind(a.added_messages)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
