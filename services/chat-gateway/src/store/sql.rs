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
        MessageRow, Owner, OwnerRow, OwnerSettingsRow, RoomAccessRow, RoomRow, MESSAGE_COLUMNS,
        ROOM_ACCESS_COLUMNS, ROOM_COLUMNS,
    },
    ChatStore, Committed, CommittedBatch, MessageLog, PendingMessage, StoreError, ROOM_LIST_LIMIT,
};
use crate::domain::{
    Message, MessageId, NewRoom, OwnerSettings, Room, RoomAccess, RoomControl, RoomId, SenderType,
    VisitorMarks,
};
use chrono::{DateTime, Utc};
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

    /// One backend's batch write; tried twice when another replica stored one of the
    /// batch's client ids meanwhile (the second attempt finds it and stores the rest).
    async fn insert_batch(&self, batch: &[PendingMessage]) -> Result<CommittedBatch, StoreError> {
        let mut retried = false;
        loop {
            let outcome = match self.db.pool() {
                Pool::Postgres(pool) => super::postgres::insert_messages(pool, batch).await,
                Pool::Sqlite(pool) => super::sqlite::insert_messages(pool, batch).await,
            };
            match outcome.map_err(StoreError::from) {
                Err(StoreError::Conflict) if !retried => retried = true,
                other => return other,
            }
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
            "insert into rooms (id, owner_id, visitor_name, visitor_token_hash, created_at, updated_at, \
             visitor_key_hash, visitor_address_hash) \
             values ($1, $2, $3, $4, $5, $5, $6, $7) returning {ROOM_COLUMNS}"
        );
        let created = with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: RoomRow = sqlx::query_as(&query)
                .bind(room.id.0)
                .bind(room.owner_id.as_uuid())
                .bind(room.visitor_name.as_ref())
                .bind(&room.visitor_token_hash.0)
                .bind(Timestamp(room.created_at))
                .bind(room.visitor_marks.key.as_deref())
                .bind(&room.visitor_marks.address)
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
        let mut committed = self.insert_batch(batch).await?;
        // An owner's message refused with its closed room's visitor messages goes in alone.
        let owners: Vec<usize> = (0..batch.len())
            .filter(|&i| {
                committed.messages.get(i) == Some(&Committed::RoomClosed)
                    && batch[i].message.sender_type == SenderType::Owner
            })
            .collect();
        if !owners.is_empty() {
            let again: Vec<PendingMessage> = owners.iter().map(|&i| batch[i].clone()).collect();
            let retried = self.insert_batch(&again).await?;
            for (&i, outcome) in owners.iter().zip(retried.messages) {
                committed.messages[i] = outcome;
            }
            committed.rooms.extend(retried.rooms);
        }
        self.messages_written.notify_one();
        Ok(committed)
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

    #[tracing::instrument(skip_all, fields(room.id = %room))]
    async fn control_room(
        &self,
        room: RoomId,
        control: RoomControl,
        block_until: DateTime<Utc>,
    ) -> Result<Room, StoreError> {
        let set = match control {
            RoomControl::Close => "is_active = false",
            RoomControl::Reopen => "is_active = true",
            RoomControl::Block => "is_active = false, is_blocked = true",
            RoomControl::Unblock => "is_active = true, is_blocked = false",
        };
        // Reopening a blocked room would leave its visitor blocked from new rooms only.
        let guard = if control == RoomControl::Reopen {
            " and not is_blocked"
        } else {
            ""
        };
        let update =
            format!("update rooms set {set} where id = $1{guard} returning {ROOM_COLUMNS}");
        let now = Timestamp::now();
        let row: Option<RoomRow> = with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<RoomRow> = sqlx::query_as(&update)
                .bind(room.0)
                .fetch_optional(&mut *tx)
                .await?;
            match control {
                RoomControl::Block if row.is_some() => {
                    sqlx::query(
                        "insert into visitor_blocks (owner_id, visitor, room_id, expires_at, created_at) \
                         select owner_id, mark, id, $2, $3 from rooms, \
                         (select visitor_key_hash as mark from rooms where id = $1 \
                          union all select visitor_address_hash from rooms where id = $1) as marks \
                         where id = $1 and mark is not null \
                         on conflict (owner_id, visitor) do update set room_id = excluded.room_id, \
                         expires_at = excluded.expires_at",
                    )
                    .bind(room.0)
                    .bind(Timestamp(block_until))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                RoomControl::Unblock => {
                    sqlx::query("delete from visitor_blocks where room_id = $1")
                        .bind(room.0)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {}
            }
            tx.commit().await?;
            row
        });
        match row {
            Some(row) => Ok(Room::from(row)),
            None if control == RoomControl::Reopen
                && self.find_room_access(room).await?.is_some() =>
            {
                Err(StoreError::Conflict)
            }
            None => Err(StoreError::NotFound),
        }
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn is_visitor_blocked(
        &self,
        owner: UserId,
        marks: &VisitorMarks,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = marks.key.as_deref().unwrap_or("");
        let blocked: Option<i32> = with_pool!(self.db, |pool| {
            sqlx::query_scalar(
                "select 1 from visitor_blocks where owner_id = $1 \
                 and (visitor = $2 or visitor = $3) and expires_at > $4 limit 1",
            )
            .bind(owner.as_uuid())
            .bind(&marks.address)
            .bind(key)
            .bind(Timestamp(now))
            .fetch_optional(pool)
            .await?
        });
        Ok(blocked.is_some())
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn owner_settings(&self, owner: UserId) -> Result<OwnerSettings, StoreError> {
        let row: Option<OwnerSettingsRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "select accepting_messages, quiet_until, version from owner_settings \
                 where owner_id = $1",
            )
            .bind(owner.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.as_ref().map(OwnerSettings::from).unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn save_owner_settings(
        &self,
        owner: UserId,
        settings: OwnerSettings,
    ) -> Result<OwnerSettings, StoreError> {
        let now = shared::time::now();
        with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: OwnerSettingsRow = sqlx::query_as(
                "insert into owner_settings (owner_id, accepting_messages, quiet_until, version, updated_at) \
                 values ($1, $2, $3, 1, $4) \
                 on conflict (owner_id) do update set accepting_messages = excluded.accepting_messages, \
                 quiet_until = excluded.quiet_until, version = owner_settings.version + 1, \
                 updated_at = excluded.updated_at \
                 returning accepting_messages, quiet_until, version",
            )
            .bind(owner.as_uuid())
            .bind(settings.accepting_messages)
            .bind(settings.quiet_until.map(Timestamp))
            .bind(Timestamp(now))
            .fetch_one(&mut *tx)
            .await?;
            tx.insert_outbox(&[crate::events::settings_changed(owner, &row, now)])
                .await?;
            tx.commit().await?;
        });
        self.db.outbox_written();
        Ok(settings)
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
