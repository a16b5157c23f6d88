//! The Postgres half of the message batch write: one statement, so one round trip, whatever
//! the batch size (plus a look-up of client ids when the batch carries any). The events leave
//! from the messages table itself (`super::message_log`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    batch::{ordinals, preview, room_activity, Split},
    rows::{sender_type_str, ClientMessageRow, RoomRow, MESSAGE_COLUMNS},
    Committed, CommittedBatch, PendingMessage,
};
use crate::domain::{ClientId, Message, Room, RoomId};

/// The rooms' inbox entries, then the messages, in one statement (so one implicit transaction
/// and one round trip): `unnest` turns each column array into rows, and the data-modifying
/// `with` parts run whether or not the final part reads them. The text is the same for every
/// batch size, so the prepared statement is reused.
///
/// A room closed to its visitor is not touched when the batch has visitor messages for it,
/// so none of its messages are inserted (`Committed::RoomClosed`).
///
/// The update takes each room row's lock, so commits into one room are serialised: a
/// message's position is the room's count before the batch plus its place in the batch, and
/// its time is the room's last-message time, which never goes back (a replica with a slower
/// clock cannot stamp a message before one already committed).
const INSERT_BATCH: &str = "\
with touched as ( \
    update rooms set updated_at = greatest(rooms.updated_at, v.at), \
    last_message_id = v.mid, last_message_sender = v.sender, last_message_content = v.preview, \
    last_message_at = greatest(rooms.last_message_at, v.at), \
    unread_count = case when v.reset then v.added else rooms.unread_count + v.added end, \
    message_count = rooms.message_count + v.total \
    from unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::timestamptz[], $11::bool[], $12::bigint[], $13::bigint[], $16::bool[]) \
        as v(room_id, mid, sender, preview, at, reset, added, total, owner_only) \
    where rooms.id = v.room_id and (rooms.is_active or v.owner_only) \
    returning rooms.*, rooms.message_count - v.total as base \
), inserted as ( \
    insert into messages (id, room_id, sender_type, content, created_at, updated_at, traceparent, position, client_id) \
    select m.id, m.room_id, m.sender_type, m.content, t.last_message_at, t.last_message_at, m.traceparent, t.base + m.n, m.client_id \
    from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $14::bigint[], $15::uuid[]) \
        as m(id, room_id, sender_type, content, traceparent, n, client_id) \
    join touched t on t.id = m.room_id \
) \
select id, owner_id, visitor_name, is_active, created_at, updated_at, last_message_id, \
    last_message_sender, last_message_content, last_message_at, unread_count, message_count, \
    visitor_last_read_id, is_blocked, base from touched";

#[derive(sqlx::FromRow)]
struct TouchedRow {
    #[sqlx(flatten)]
    room: RoomRow,
    base: i64,
}

/// Writes a batch in one statement.
pub(super) async fn insert_messages(
    pool: &PgPool,
    batch: &[PendingMessage],
) -> Result<CommittedBatch, sqlx::Error> {
    let split = Split::new(batch, &stored_client_ids(pool, batch).await?);
    if split.nothing_to_store() {
        return Ok(split.committed(Vec::new(), Vec::new()));
    }
    let messages: Vec<_> = split.fresh().map(|p| &p.message).collect();
    let places = ordinals(messages.iter().copied());
    let n = messages.len();
    let (mut ids, mut rooms, mut senders, mut contents, mut traces, mut clients) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for p in split.fresh() {
        let m = &p.message;
        ids.push(m.id.0);
        rooms.push(m.room_id.0);
        senders.push(sender_type_str(m.sender_type));
        contents.push(m.content.as_str());
        traces.push(p.traceparent.as_deref());
        clients.push(m.client_id.map(|c| c.0));
    }
    let at = shared::time::now();
    let activity = room_activity(messages.iter().copied());
    let a_rooms: Vec<Uuid> = activity.iter().map(|a| a.room_id.0).collect();
    let a_ids: Vec<Uuid> = activity.iter().map(|a| a.last.id.0).collect();
    let a_senders: Vec<&str> = activity
        .iter()
        .map(|a| sender_type_str(a.last.sender_type))
        .collect();
    let a_previews: Vec<String> = activity.iter().map(|a| preview(&a.last.content)).collect();
    let a_times: Vec<DateTime<Utc>> = vec![at; activity.len()];
    let a_resets: Vec<bool> = activity.iter().map(|a| a.reset_unread).collect();
    let a_added: Vec<i64> = activity.iter().map(|a| a.added_unread).collect();
    let a_counts: Vec<i64> = activity.iter().map(|a| a.added_messages).collect();
    let a_owner_only: Vec<bool> = activity.iter().map(|a| a.owner_only).collect();

    let touched: Vec<TouchedRow> = sqlx::query_as(INSERT_BATCH)
        .bind(&ids)
        .bind(&rooms)
        .bind(&senders)
        .bind(&contents)
        .bind(&traces)
        .bind(&a_rooms)
        .bind(&a_ids)
        .bind(&a_senders)
        .bind(&a_previews)
        .bind(&a_times)
        .bind(&a_resets)
        .bind(&a_added)
        .bind(&a_counts)
        .bind(&places)
        .bind(&clients)
        .bind(&a_owner_only)
        .fetch_all(pool)
        .await?;
    let placed: HashMap<Uuid, (DateTime<Utc>, i64)> = touched
        .iter()
        .map(|t| {
            let at = t.room.last_message_at.map_or(at, |ts| ts.0);
            (t.room.id, (at, t.base))
        })
        .collect();
    let outcomes: Vec<Committed> = messages
        .iter()
        .zip(&places)
        .map(|(m, place)| match placed.get(&m.room_id.0) {
            Some(&(at, base)) => Committed::Stored(m.stored(at, base + place)),
            None => Committed::RoomClosed,
        })
        .collect();
    let rooms: Vec<Room> = touched.into_iter().map(|t| Room::from(t.room)).collect();
    Ok(split.committed(outcomes, rooms))
}

/// The messages already stored under the batch's client ids, by room and client id.
async fn stored_client_ids(
    pool: &PgPool,
    batch: &[PendingMessage],
) -> Result<HashMap<(RoomId, ClientId), Message>, sqlx::Error> {
    let (rooms, clients): (Vec<Uuid>, Vec<Uuid>) = batch
        .iter()
        .filter_map(|p| Some((p.message.room_id.0, p.message.client_id?.0)))
        .unzip();
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    let query = format!(
        "select {MESSAGE_COLUMNS}, client_id from messages \
         where (room_id, client_id) in (select * from unnest($1::uuid[], $2::uuid[]))"
    );
    let rows: Vec<ClientMessageRow> = sqlx::query_as(&query)
        .bind(&rooms)
        .bind(&clients)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(ClientMessageRow::keyed).collect())
}
