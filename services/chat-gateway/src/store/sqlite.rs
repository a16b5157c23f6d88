//! The SQLite backend of [`ChatStore`]: the embedded default. Timestamps are microseconds
//! since the epoch; one writer at a time, so a batch is a loop inside one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use shared::{
    config::DatabaseUrl,
    events::outbox::{self, OutboxEvent, OutboxStore},
    ids::UserId,
    time,
};
use sqlx::SqlitePool;

use super::{
    preview, room_activity,
    rows::{
        sender_type_str, MessageRow, Owner, OwnerRow, RoomAccessRow, RoomRow, MESSAGE_COLUMNS,
        ROOM_ACCESS_COLUMNS, ROOM_COLUMNS,
    },
    ChatStore, PendingMessage, StoreError, ROOM_LIST_LIMIT,
};
use crate::domain::{Message, MessageId, NewRoom, Room, RoomAccess, RoomId};

/// Chat in a SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        shared::db::ensure_sqlite_parent_dir(url)?;
        let pool = shared::db::connect_sqlite(url).await?;
        sqlx::migrate!("../../migrations/chat/sqlite")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

fn now_micros() -> i64 {
    time::to_micros(&time::now())
}

#[async_trait]
impl ChatStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(user.id = %owner.id))]
    async fn upsert_owner(&self, owner: &Owner) -> Result<(), StoreError> {
        let now = now_micros();
        sqlx::query(
            "insert into owners (id, is_registered, is_profile_public, version, created_at, updated_at) \
             values (?, ?, ?, ?, ?, ?) \
             on conflict (id) do update set is_registered = excluded.is_registered, \
             is_profile_public = excluded.is_profile_public, version = excluded.version, \
             updated_at = excluded.updated_at where owners.version < excluded.version",
        )
        .bind(owner.id.as_uuid())
        .bind(owner.is_registered)
        .bind(owner.is_profile_public)
        .bind(owner.version)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn find_owner(&self, id: UserId) -> Result<Option<Owner>, StoreError> {
        let row: Option<OwnerRow> = sqlx::query_as(
            "select id, is_registered, is_profile_public, version from owners where id = ?",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Owner::from))
    }

    #[tracing::instrument(skip_all, fields(room.id = %room.id))]
    async fn create_room(&self, room: &NewRoom) -> Result<Room, StoreError> {
        let at = time::to_micros(&room.created_at);
        let mut tx = self.pool.begin().await?;
        let row: RoomRow<i64> = sqlx::query_as(&format!(
            "insert into rooms (id, owner_id, visitor_name, visitor_token_hash, created_at, updated_at) \
             values (?, ?, ?, ?, ?, ?) returning {ROOM_COLUMNS}"
        ))
        .bind(room.id.0)
        .bind(room.owner_id.as_uuid())
        .bind(room.visitor_name.as_ref())
        .bind(&room.visitor_token_hash.0)
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let created = Room::from(row);
        outbox::insert_sqlite(&mut tx, &[crate::events::room_created(&created)]).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(room.id = %id))]
    async fn find_room_access(&self, id: RoomId) -> Result<Option<RoomAccess>, StoreError> {
        let row: Option<RoomAccessRow<i64>> = sqlx::query_as(&format!(
            "select {ROOM_ACCESS_COLUMNS} from rooms where id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(RoomAccess::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn list_rooms_for_owner(&self, owner: UserId) -> Result<Vec<Room>, StoreError> {
        let rows: Vec<RoomRow<i64>> = sqlx::query_as(&format!(
            "select {ROOM_COLUMNS} from rooms where owner_id = ? order by updated_at desc, id desc limit ?"
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
        // SQLite: a negative limit means none.
        let limit = limit.unwrap_or(-1);
        let rows: Vec<MessageRow<i64>> = match after {
            None => sqlx::query_as(&format!(
                "select {MESSAGE_COLUMNS} from messages where room_id = ? order by created_at, id limit ?"
            ))
            .bind(room.0)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
            Some(after) => sqlx::query_as(&format!(
                "select {MESSAGE_COLUMNS} from messages where room_id = ?1 and (created_at, id) > \
                 (select created_at, id from messages where id = ?2 and room_id = ?1) \
                 order by created_at, id limit ?3"
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
        let rows: Vec<MessageRow<i64>> = sqlx::query_as(&format!(
            "select {MESSAGE_COLUMNS} from messages where room_id = ? \
             order by created_at desc, id desc limit ?"
        ))
        .bind(room.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().rev().map(Message::from).collect())
    }

    #[tracing::instrument(skip_all, fields(messages = batch.len()))]
    async fn insert_messages(&self, batch: &[PendingMessage]) -> Result<(), StoreError> {
        let events: Vec<OutboxEvent> = batch.iter().map(PendingMessage::to_outbox).collect();
        let mut tx = self.pool.begin().await?;
        for p in batch {
            let m = &p.message;
            let at = time::to_micros(&m.created_at);
            sqlx::query(
                "insert into messages (id, room_id, sender_type, content, created_at, updated_at) \
                 values (?, ?, ?, ?, ?, ?)",
            )
            .bind(m.id.0)
            .bind(m.room_id.0)
            .bind(sender_type_str(m.sender_type))
            .bind(&m.content)
            .bind(at)
            .bind(at)
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
        outbox::insert_sqlite(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn mark_read_by_owner(&self, room: RoomId) -> Result<(), StoreError> {
        sqlx::query("update rooms set unread_count = 0 where id = ? and unread_count <> 0")
            .bind(room.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn projection_value(&self, name: &str, default: &str) -> Result<String, StoreError> {
        let now = now_micros();
        sqlx::query(
            "insert into projection_state (name, value, created_at, updated_at) values (?, ?, ?, ?) \
             on conflict (name) do nothing",
        )
        .bind(name)
        .bind(default)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("select value from projection_state where name = ?")
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
        Arc::new(outbox::SqliteOutbox(self.pool.clone()))
    }
}
