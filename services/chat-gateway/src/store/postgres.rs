//! The Postgres half of the message batch write: one statement, so one round trip, whatever
//! the batch size. The events leave from the messages table itself (`super::message_log`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{preview, room_activity, rows::sender_type_str, PendingMessage};

/// The messages and their rooms' inbox entries in one statement (so one implicit transaction
/// and one round trip): `unnest` turns each column array into rows, and the data-modifying
/// `with` part runs whether or not the final part reads it. The text is the same for every
/// batch size, so the prepared statement is reused.
const INSERT_BATCH: &str = "\
with touched as ( \
    update rooms set updated_at = greatest(rooms.updated_at, v.at), \
    last_message_id = case when v.at >= coalesce(rooms.last_message_at, v.at) then v.mid else rooms.last_message_id end, \
    last_message_sender = case when v.at >= coalesce(rooms.last_message_at, v.at) then v.sender else rooms.last_message_sender end, \
    last_message_content = case when v.at >= coalesce(rooms.last_message_at, v.at) then v.preview else rooms.last_message_content end, \
    last_message_at = greatest(rooms.last_message_at, v.at), \
    unread_count = case when v.reset then v.added else rooms.unread_count + v.added end, \
    message_count = rooms.message_count + v.total \
    from unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::timestamptz[], $11::bool[], $12::bigint[], $13::bigint[]) \
        as v(room_id, mid, sender, preview, at, reset, added, total) \
    where rooms.id = v.room_id \
) \
insert into messages (id, room_id, sender_type, content, created_at, updated_at, traceparent) \
select id, room_id, sender_type, content, created_at, created_at, traceparent \
from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $14::text[]) \
    as m(id, room_id, sender_type, content, created_at, traceparent)";

/// Writes a batch in one statement.
pub(super) async fn insert_messages(
    pool: &PgPool,
    batch: &[PendingMessage],
) -> Result<(), sqlx::Error> {
    let n = batch.len();
    let (mut ids, mut rooms, mut senders, mut contents, mut times) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for p in batch {
        let m = &p.message;
        ids.push(m.id.0);
        rooms.push(m.room_id.0);
        senders.push(sender_type_str(m.sender_type));
        contents.push(m.content.as_str());
        times.push(m.created_at);
    }
    let traces: Vec<Option<&str>> = batch.iter().map(|p| p.traceparent.as_deref()).collect();
    // Another replica may commit a newer message to the same room first: the preview only
    // ever moves forward in time.
    let activity = room_activity(batch);
    let a_rooms: Vec<Uuid> = activity.iter().map(|a| a.room_id.0).collect();
    let a_ids: Vec<Uuid> = activity.iter().map(|a| a.last.id.0).collect();
    let a_senders: Vec<&str> = activity
        .iter()
        .map(|a| sender_type_str(a.last.sender_type))
        .collect();
    let a_previews: Vec<String> = activity.iter().map(|a| preview(&a.last.content)).collect();
    let a_times: Vec<DateTime<Utc>> = activity.iter().map(|a| a.last.created_at).collect();
    let a_resets: Vec<bool> = activity.iter().map(|a| a.reset_unread).collect();
    let a_added: Vec<i64> = activity.iter().map(|a| a.added_unread).collect();
    let a_counts: Vec<i64> = activity.iter().map(|a| a.added_messages).collect();

    sqlx::query(INSERT_BATCH)
        .bind(&ids)
        .bind(&rooms)
        .bind(&senders)
        .bind(&contents)
        .bind(&times)
        .bind(&a_rooms)
        .bind(&a_ids)
        .bind(&a_senders)
        .bind(&a_previews)
        .bind(&a_times)
        .bind(&a_resets)
        .bind(&a_added)
        .bind(&a_counts)
        .bind(&traces)
        .execute(pool)
        .await?;
    Ok(())
}
