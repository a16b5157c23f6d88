//! [`ChatStore`] on either backend: each query is written once (`$N` placeholders,
//! [`Timestamp`] binds) and run on the pool the `DATABASE_URL` chose. Only the batch write of
//! messages differs (`postgres.rs`, `sqlite.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use shared::{
    db::{Database, Pool, Timestamp},
    events::outbox::InsertOutbox,
    ids::UserId,
    with_pool,
};

use super::{
    rows::{
        MessageRow, Owner, OwnerRow, RoomAccessRow, RoomRow, MESSAGE_COLUMNS, ROOM_ACCESS_COLUMNS,
        ROOM_COLUMNS,
    },
    ChatStore, CommittedBatch, MessageLog, PendingMessage, StoreError, ROOM_LIST_LIMIT,
};
use crate::domain::{Message, MessageId, NewRoom, Room, RoomAccess, RoomId, SenderType};
use tokio::sync::Notify;

/// Chat on a [`Database`].
pub struct SqlStore {
    db: Database,
    /// Wakes the message log's relay after each batch.
    messages_written: Arc<Notify>,
}

impl SqlStore {
    pub(super) fn new(db: Database) -> Self {
        Self {
            db,
            messages_written: Arc::default(),
        }
    }
}

#[async_trait]
impl ChatStore for SqlStore {
    #[tracing::instrument(skip_all, fields(user.id = %owner.id))]
    async fn upsert_owner(&self, owner: &Owner) -> Result<(), StoreError> {
        with_pool!(self.db, |pool| {
            sqlx::query(
                "insert into owners (id, is_registered, is_profile_public, version, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $5) \
                 on conflict (id) do update set is_registered = excluded.is_registered, \
                 is_profile_public = excluded.is_profile_public, version = excluded.version, \
                 updated_at = excluded.updated_at where owners.version < excluded.version",
            )
            .bind(owner.id.as_uuid())
            .bind(owner.is_registered)
            .bind(owner.is_profile_public)
            .bind(owner.version)
            .bind(Timestamp::now())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn find_owner(&self, id: UserId) -> Result<Option<Owner>, StoreError> {
        let row: Option<OwnerRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "select id, is_registered, is_profile_public, version from owners where id = $1",
            )
            .bind(id.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(Owner::from))
    }

    #[tracing::instrument(skip_all, fields(room.id = %room.id))]
    async fn create_room(&self, room: &NewRoom) -> Result<Room, StoreError> {
        let query = format!(
            "insert into rooms (id, owner_id, visitor_name, visitor_token_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $5) returning {ROOM_COLUMNS}"
        );
        let created = with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: RoomRow = sqlx::query_as(&query)
                .bind(room.id.0)
                .bind(room.owner_id.as_uuid())
                .bind(room.visitor_name.as_ref())
                .bind(&room.visitor_token_hash.0)
                .bind(Timestamp(room.created_at))
                .fetch_one(&mut *tx)
                .await?;
            let created = Room::from(row);
            tx.insert_outbox(&[crate::events::room_created(&created)])
                .await?;
            tx.commit().await?;
            created
        });
        self.db.outbox_written();
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(room.id = %id))]
    async fn find_room_access(&self, id: RoomId) -> Result<Option<RoomAccess>, StoreError> {
        let query = format!("select {ROOM_ACCESS_COLUMNS} from rooms where id = $1");
        let row: Option<RoomAccessRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(RoomAccess::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn list_rooms_for_owner(&self, owner: UserId) -> Result<Vec<Room>, StoreError> {
        let query = format!(
            "select {ROOM_COLUMNS} from rooms where owner_id = $1 \
             order by updated_at desc, id desc limit $2"
        );
        let rows: Vec<RoomRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(owner.as_uuid())
                .bind(ROOM_LIST_LIMIT)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(Room::from).collect())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn list_messages(
        &self,
        room: RoomId,
        after: Option<MessageId>,
        limit: Option<i64>,
    ) -> Result<Vec<Message>, StoreError> {
        // One text for both backends: Postgres refuses a negative limit, SQLite a null one.
        let limit = limit.unwrap_or(i64::MAX);
        let query = match after {
            None => format!(
                "select {MESSAGE_COLUMNS} from messages where room_id = $1 \
                 order by position limit $2"
            ),
            Some(_) => format!(
                "select {MESSAGE_COLUMNS} from messages where room_id = $1 and position > \
                 (select position from messages where id = $3 and room_id = $1) \
                 order by position limit $2"
            ),
        };
        let rows: Vec<MessageRow> = with_pool!(self.db, |pool| {
            let mut query = sqlx::query_as(&query).bind(room.0).bind(limit);
            if let Some(after) = after {
                query = query.bind(after.0);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Message::from).collect())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn list_messages_after(
        &self,
        room: RoomId,
        position: i64,
        limit: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let query = format!(
            "select {MESSAGE_COLUMNS} from messages where room_id = $1 and position > $2 \
             order by position limit $3"
        );
        let rows: Vec<MessageRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(room.0)
                .bind(position)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(Message::from).collect())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn find_message(
        &self,
        room: RoomId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let query =
            format!("select {MESSAGE_COLUMNS} from messages where id = $1 and room_id = $2");
        let row: Option<MessageRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(id.0)
                .bind(room.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(Message::from))
    }

    #[tracing::instrument(skip_all, fields(messages = batch.len()))]
    async fn insert_messages(
        &self,
        batch: &[PendingMessage],
    ) -> Result<CommittedBatch, StoreError> {
        let mut retried = false;
        loop {
            let outcome = match self.db.pool() {
                Pool::Postgres(pool) => super::postgres::insert_messages(pool, batch).await,
                Pool::Sqlite(pool) => super::sqlite::insert_messages(pool, batch).await,
            };
            match outcome.map_err(StoreError::from) {
                // Another replica stored one of the batch's client ids meanwhile: the second
                // attempt finds it and stores the rest.
                Err(StoreError::Conflict) if !retried => retried = true,
                Ok(committed) => {
                    self.messages_written.notify_one();
                    return Ok(committed);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn message_log(&self, holder: String) -> MessageLog {
        MessageLog::new(self.db.clone(), holder, self.messages_written.clone())
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn mark_read_by_owner(&self, room: RoomId) -> Result<Option<Room>, StoreError> {
        let query = format!(
            "update rooms set unread_count = 0 where id = $1 and unread_count <> 0 \
             returning {ROOM_COLUMNS}"
        );
        let row: Option<RoomRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(room.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(Room::from))
    }

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn mark_read(
        &self,
        room: RoomId,
        side: SenderType,
        message: &Message,
    ) -> Result<Option<Room>, StoreError> {
        let row: Option<RoomRow> = match side {
            SenderType::Visitor => {
                let query = format!(
                    "update rooms set visitor_last_read_id = $2, visitor_read_position = $3 \
                     where id = $1 and visitor_read_position < $3 returning {ROOM_COLUMNS}"
                );
                with_pool!(self.db, |pool| {
                    sqlx::query_as(&query)
                        .bind(room.0)
                        .bind(message.id.0)
                        .bind(message.position)
                        .fetch_optional(pool)
                        .await?
                })
            }
            SenderType::Owner => {
                // Unread is the visitor's messages after this one, but a read never raises it:
                // the owner may have answered since, which reset it.
                let unread_after = "(select count(*) from messages m where m.room_id = $1 \
                     and m.sender_type = 'visitor' and m.position > $2)";
                let query = format!(
                    "update rooms set owner_read_position = $2, unread_count = case \
                     when unread_count < {unread_after} then unread_count else {unread_after} end \
                     where id = $1 and owner_read_position < $2 returning {ROOM_COLUMNS}"
                );
                with_pool!(self.db, |pool| {
                    sqlx::query_as(&query)
                        .bind(room.0)
                        .bind(message.position)
                        .fetch_optional(pool)
                        .await?
                })
            }
        };
        Ok(row.map(Room::from))
    }

    async fn projection_value(&self, name: &str, default: &str) -> Result<String, StoreError> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query(
                "insert into projection_state (name, value, created_at, updated_at) \
                 values ($1, $2, $3, $3) on conflict (name) do nothing",
            )
            .bind(name)
            .bind(default)
            .bind(Timestamp::now())
            .execute(pool)
            .await?;
            sqlx::query_scalar("select value from projection_state where name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        }))
    }
}
