//! The Postgres backend of [`ChatStore`]. Message batches are written with `unnest` so a
//! group commit of hundreds of messages is three statements.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{
    config::DatabaseUrl,
    events::outbox::{self, OutboxEvent, OutboxStore},
    ids::UserId,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    preview, room_activity,
    rows::{
        sender_type_str, MessageRow, Owner, OwnerRow, RoomAccessRow, RoomRow, MESSAGE_COLUMNS,
        ROOM_ACCESS_COLUMNS, ROOM_COLUMNS,
    },
    ChatStore, PendingMessage, StoreError, ROOM_LIST_LIMIT,
};
use crate::domain::{Message, MessageId, NewRoom, Room, RoomAccess, RoomId};

/// Chat on Postgres.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and migrates.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        let pool = shared::db::connect_postgres(url, max_connections).await?;
        sqlx::migrate!("../../migrations/chat/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl ChatStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(user.id = %owner.id))]
    async fn upsert_owner(&self, owner: &Owner) -> Result<(), StoreError> {
        sqlx::query(
            "insert into owners (id, is_registered, is_profile_public, version) values ($1, $2, $3, $4) \
             on conflict (id) do update set is_registered = excluded.is_registered, \
             is_profile_public = excluded.is_profile_public, version = excluded.version, updated_at = now() \
             where owners.version < excluded.version",
        )
        .bind(owner.id.as_uuid())
        .bind(owner.is_registered)
        .bind(owner.is_profile_public)
        .bind(owner.version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn find_owner(&self, id: UserId) -> Result<Option<Owner>, StoreError> {
        let row: Option<OwnerRow> = sqlx::query_as(
            "select id, is_registered, is_profile_public, version from owners where id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Owner::from))
    }

    #[tracing::instrument(skip_all, fields(room.id = %room.id))]
    async fn create_room(&self, room: &NewRoom) -> Result<Room, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: RoomRow<DateTime<Utc>> = sqlx::query_as(&format!(
            "insert into rooms (id, owner_id, visitor_name, visitor_token_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $5) returning {ROOM_COLUMNS}"
        ))
        .bind(room.id.0)
        .bind(room.owner_id.as_uuid())
        .bind(room.visitor_name.as_ref())
        .bind(&room.visitor_token_hash.0)
        .bind(room.created_at)
        .fetch_one(&mut *tx)
        .await?;
        let created = Room::from(row);
        outbox::insert_postgres(&mut tx, &[crate::events::room_created(&created)]).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(room.id = %id))]
    async fn find_room_access(&self, id: RoomId) -> Result<Option<RoomAccess>, StoreError> {
        let row: Option<RoomAccessRow<DateTime<Utc>>> = sqlx::query_as(&format!(
            "select {ROOM_ACCESS_COLUMNS} from rooms where id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(RoomAccess::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn list_rooms_for_owner(&self, owner: UserId) -> Result<Vec<Room>, StoreError> {
        let rows: Vec<RoomRow<DateTime<Utc>>> = sqlx::query_as(&format!(
            "select {ROOM_COLUMNS} from rooms where owner_id = $1 order by updated_at desc, id desc limit $2"
        ))
        .bind(owner.as_uuid())
        .bind(ROOM_LIST_LIMIT)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Room::from).collect())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn list_messages(
        &self,
        room: RoomId,
        after: Option<MessageId>,
        limit: Option<i64>,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<MessageRow<DateTime<Utc>>> = match after {
            None => sqlx::query_as(&format!(
                "select {MESSAGE_COLUMNS} from messages where room_id = $1 order by created_at, id limit $2"
            ))
            .bind(room.0)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
            Some(after) => sqlx::query_as(&format!(
                "select {MESSAGE_COLUMNS} from messages where room_id = $1 and (created_at, id) > \
                 (select created_at, id from messages where id = $2 and room_id = $1) \
                 order by created_at, id limit $3"
            ))
            .bind(room.0)
            .bind(after.0)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
        };
        Ok(rows.into_iter().map(Message::from).collect())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn list_recent_messages(
        &self,
        room: RoomId,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<MessageRow<DateTime<Utc>>> = sqlx::query_as(&format!(
            "select {MESSAGE_COLUMNS} from messages where room_id = $1 \
             order by created_at desc, id desc limit $2"
        ))
        .bind(room.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().rev().map(Message::from).collect())
    }

    #[tracing::instrument(skip_all, fields(messages = batch.len()))]
    async fn insert_messages(&self, batch: &[PendingMessage]) -> Result<(), StoreError> {
        let mut ids = Vec::with_capacity(batch.len());
        let mut rooms = Vec::with_capacity(batch.len());
        let mut senders = Vec::with_capacity(batch.len());
        let mut contents = Vec::with_capacity(batch.len());
        let mut times = Vec::with_capacity(batch.len());
        let mut events: Vec<OutboxEvent> = Vec::with_capacity(batch.len());
        for p in batch {
            let m = &p.message;
            ids.push(m.id.0);
            rooms.push(m.room_id.0);
            senders.push(sender_type_str(m.sender_type));
            contents.push(m.content.as_str());
            times.push(m.created_at);
            events.push(p.to_outbox());
        }
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

        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into messages (id, room_id, sender_type, content, created_at, updated_at) \
             select id, room_id, sender_type, content, created_at, created_at \
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) \
             as m(id, room_id, sender_type, content, created_at)",
        )
        .bind(&ids)
        .bind(&rooms)
        .bind(&senders)
        .bind(&contents)
        .bind(&times)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            // Another replica may commit a newer message to the same room first: the preview
            // only ever moves forward in time.
            "update rooms set updated_at = greatest(rooms.updated_at, v.at), \
             last_message_id = case when v.at >= coalesce(rooms.last_message_at, v.at) then v.mid else rooms.last_message_id end, \
             last_message_sender = case when v.at >= coalesce(rooms.last_message_at, v.at) then v.sender else rooms.last_message_sender end, \
             last_message_content = case when v.at >= coalesce(rooms.last_message_at, v.at) then v.preview else rooms.last_message_content end, \
             last_message_at = greatest(rooms.last_message_at, v.at), \
             unread_count = case when v.reset then v.added else rooms.unread_count + v.added end, \
             message_count = rooms.message_count + v.total \
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::bool[], $7::bigint[], $8::bigint[]) \
             as v(room_id, mid, sender, preview, at, reset, added, total) where rooms.id = v.room_id",
        )
        .bind(&a_rooms)
        .bind(&a_ids)
        .bind(&a_senders)
        .bind(&a_previews)
        .bind(&a_times)
        .bind(&a_resets)
        .bind(&a_added)
        .bind(&a_counts)
        .execute(&mut *tx)
        .await?;
        outbox::insert_postgres(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn mark_read_by_owner(&self, room: RoomId) -> Result<(), StoreError> {
        sqlx::query("update rooms set unread_count = 0 where id = $1 and unread_count <> 0")
            .bind(room.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn projection_value(&self, name: &str, default: &str) -> Result<String, StoreError> {
        sqlx::query("insert into projection_state (name, value) values ($1, $2) on conflict (name) do nothing")
            .bind(name)
            .bind(default)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("select value from projection_state where name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    fn outbox(&self) -> Arc<dyn OutboxStore> {
        Arc::new(outbox::PostgresOutbox(self.pool.clone()))
    }
}
