//! [`NotifierStore`] on either backend: each query is written once (`$N` placeholders,
//! [`Timestamp`] binds) and run on the pool the `DATABASE_URL` chose.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{
    db::{Database, Timestamp},
    ids::UserId,
    with_pool,
};
use uuid::Uuid;

use super::{
    rows::{DueDeliveryRow, OwnerSettingsRow, PendingRoomRow, ROOM_COLUMNS, SETTINGS_COLUMNS},
    Applied, ChatChange, DueDelivery, NotifierStore, Saved, StoreError,
};
use crate::domain::{Dispatch, NewSubscription, OwnerSettings, PendingRoom};

/// When the room's window allows the next notification: `$N` is now.
fn due_at_or_window_end(now: &str) -> String {
    format!(
        "coalesce(push_rooms.due_at, case when push_rooms.next_allowed_at > {now} \
         then push_rooms.next_allowed_at else {now} end)"
    )
}

/// A room is opened: it is to be notified (at once, unless its window is still open).
fn room_created_sql() -> String {
    format!(
        "insert into push_rooms ({ROOM_COLUMNS}, created_at, updated_at) \
         values ($1, $2, $3, true, null, null, $4, null, 1, $4, $4) \
         on conflict (room_id) do update set visitor_name = excluded.visitor_name, \
         room_pending = true, due_at = {}, revision = push_rooms.revision + 1, updated_at = $4",
        due_at_or_window_end("$4")
    )
}

/// A visitor writes: the room's waiting preview becomes this message's, unless it is older
/// than the one seen last; the room is due at the end of its window.
fn visitor_message_sql() -> String {
    let newer = "push_rooms.message_at is null or excluded.message_at >= push_rooms.message_at";
    format!(
        "insert into push_rooms ({ROOM_COLUMNS}, created_at, updated_at) \
         values ($1, $2, '', false, $3, $4, $5, null, 1, $5, $5) \
         on conflict (room_id) do update set \
         message_preview = case when {newer} then excluded.message_preview else push_rooms.message_preview end, \
         message_at = case when {newer} then excluded.message_at else push_rooms.message_at end, \
         due_at = {}, revision = push_rooms.revision + 1, updated_at = $5",
        due_at_or_window_end("$5")
    )
}

/// The notifier on a [`Database`].
pub struct SqlStore {
    db: Database,
}

impl SqlStore {
    pub(super) fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl NotifierStore for SqlStore {
    #[tracing::instrument(skip_all, fields(user.id = %subscription.owner_id))]
    async fn upsert_subscription(
        &self,
        subscription: &NewSubscription,
        max_per_owner: u32,
    ) -> Result<Saved, StoreError> {
        let now = Timestamp::now();
        let endpoint = subscription.endpoint.as_str();
        let owner = subscription.owner_id.as_uuid();
        with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let previous: Option<Uuid> =
                sqlx::query_scalar("select owner_id from push_subscriptions where endpoint = $1")
                    .bind(endpoint)
                    .fetch_optional(&mut *tx)
                    .await?;
            let others: i64 = sqlx::query_scalar(
                "select count(*) from push_subscriptions where owner_id = $1 and endpoint <> $2",
            )
            .bind(owner)
            .bind(endpoint)
            .fetch_one(&mut *tx)
            .await?;
            if others >= i64::from(max_per_owner) {
                return Err(StoreError::LimitReached);
            }
            if previous.is_some_and(|previous| previous != owner) {
                // The device changed hands: nothing queued for the old owner may reach it.
                sqlx::query("delete from push_deliveries where endpoint = $1")
                    .bind(endpoint)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "insert into push_subscriptions (endpoint, owner_id, p256dh, auth, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $5) on conflict (endpoint) do update set \
                 owner_id = excluded.owner_id, p256dh = excluded.p256dh, auth = excluded.auth, \
                 updated_at = excluded.updated_at",
            )
            .bind(endpoint)
            .bind(owner)
            .bind(subscription.keys.p256dh.to_bytes())
            .bind(subscription.keys.auth.as_bytes().to_vec())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(if previous.is_some() {
                Saved::Updated
            } else {
                Saved::Created
            })
        })
    }

    #[tracing::instrument(skip_all, fields(user.id = %owner))]
    async fn delete_subscription(&self, owner: UserId, endpoint: &str) -> Result<bool, StoreError> {
        let deleted = with_pool!(self.db, |pool| {
            sqlx::query("delete from push_subscriptions where endpoint = $1 and owner_id = $2")
                .bind(endpoint)
                .bind(owner.as_uuid())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn remove_endpoint(&self, endpoint: &str) -> Result<(), StoreError> {
        with_pool!(self.db, |pool| {
            sqlx::query("delete from push_subscriptions where endpoint = $1")
                .bind(endpoint)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn count_subscriptions(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self.db, |pool| {
            sqlx::query_scalar("select count(*) from push_subscriptions")
                .fetch_one(pool)
                .await?
        }))
    }

    #[tracing::instrument(skip_all, fields(event.id = %event_id))]
    async fn apply_event(
        &self,
        event_id: Uuid,
        change: &ChatChange,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        let now = Timestamp(now);
        with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            // First, so that of two replicas applying one event the second waits and skips.
            let fresh = sqlx::query(
                "insert into processed_events (event_id, created_at, updated_at) \
                 values ($1, $2, $2) on conflict do nothing",
            )
            .bind(event_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !fresh {
                return Ok(Applied::Duplicate);
            }
            let owner = match change {
                ChatChange::Settings(settings) => {
                    sqlx::query(
                        "insert into owner_settings (owner_id, accepting_messages, quiet_until, \
                         version, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) \
                         on conflict (owner_id) do update set \
                         accepting_messages = excluded.accepting_messages, \
                         quiet_until = excluded.quiet_until, version = excluded.version, \
                         updated_at = excluded.updated_at \
                         where owner_settings.version < excluded.version",
                    )
                    .bind(settings.owner_id.as_uuid())
                    .bind(settings.accepting_messages)
                    .bind(settings.quiet_until.map(Timestamp))
                    .bind(settings.version)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Ok(Applied::Settings);
                }
                ChatChange::RoomCreated { owner_id, .. }
                | ChatChange::VisitorMessage { owner_id, .. } => *owner_id,
            };
            let settings: Option<OwnerSettingsRow> = sqlx::query_as(&format!(
                "select {SETTINGS_COLUMNS} from owner_settings where owner_id = $1"
            ))
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            let settings = settings.map(OwnerSettings::from);
            if let Some(silence) = OwnerSettings::silence(settings.as_ref(), now.0) {
                tx.commit().await?;
                return Ok(Applied::Silenced(silence));
            }
            let mut coalesced = false;
            match change {
                ChatChange::RoomCreated {
                    room_id,
                    owner_id,
                    visitor_name,
                } => {
                    sqlx::query(&room_created_sql())
                        .bind(room_id)
                        .bind(owner_id.as_uuid())
                        .bind(visitor_name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                ChatChange::VisitorMessage {
                    room_id,
                    owner_id,
                    preview,
                    at,
                } => {
                    let waiting: Option<Option<String>> = sqlx::query_scalar(
                        "select message_preview from push_rooms where room_id = $1",
                    )
                    .bind(room_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    coalesced = matches!(waiting, Some(Some(_)));
                    sqlx::query(&visitor_message_sql())
                        .bind(room_id)
                        .bind(owner_id.as_uuid())
                        .bind(preview)
                        .bind(Timestamp(*at))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                ChatChange::Settings(_) => {}
            }
            tx.commit().await?;
            Ok(Applied::Pending { coalesced })
        })
    }

    async fn find_owner_settings(
        &self,
        owner: UserId,
    ) -> Result<Option<OwnerSettings>, StoreError> {
        let row: Option<OwnerSettingsRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&format!(
                "select {SETTINGS_COLUMNS} from owner_settings where owner_id = $1"
            ))
            .bind(owner.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(OwnerSettings::from))
    }

    async fn list_due_rooms(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PendingRoom>, StoreError> {
        let rows: Vec<PendingRoomRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&format!(
                "select {ROOM_COLUMNS} from push_rooms where due_at <= $1 order by due_at limit $2"
            ))
            .bind(Timestamp(now))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(PendingRoom::from).collect())
    }

    #[tracing::instrument(skip_all, fields(room.id = %dispatch.after.room_id))]
    async fn record_dispatch(
        &self,
        revision: i64,
        dispatch: &Dispatch,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StoreError> {
        let after = &dispatch.after;
        let now = Timestamp(now);
        with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "update push_rooms set room_pending = $3, message_preview = $4, due_at = $5, \
                 next_allowed_at = $6, revision = $7, updated_at = $8 \
                 where room_id = $1 and revision = $2",
            )
            .bind(after.room_id)
            .bind(revision)
            .bind(after.room_pending)
            .bind(&after.message_preview)
            .bind(after.due_at.map(Timestamp))
            .bind(after.next_allowed_at.map(Timestamp))
            .bind(after.revision)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(None);
            }
            let Some(notification) = &dispatch.notification else {
                tx.commit().await?;
                return Ok(Some(0));
            };
            let endpoints: Vec<String> =
                sqlx::query_scalar("select endpoint from push_subscriptions where owner_id = $1")
                    .bind(after.owner_id.as_uuid())
                    .fetch_all(&mut *tx)
                    .await?;
            let payload = notification.payload();
            for endpoint in &endpoints {
                sqlx::query(
                    "insert into push_deliveries (id, endpoint, room_id, payload, attempts, \
                     next_attempt_at, lease_until, created_at, updated_at) \
                     values ($1, $2, $3, $4, 0, $5, null, $5, $5)",
                )
                .bind(Uuid::now_v7())
                .bind(endpoint)
                .bind(after.room_id)
                .bind(&payload)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Some(endpoints.len()))
        })
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let (now, lease_until) = (Timestamp(now), Timestamp(lease_until));
        let free = "next_attempt_at <= $1 and (lease_until is null or lease_until <= $1)";
        let rows: Vec<DueDeliveryRow> = with_pool!(self.db, |pool| {
            let candidates: Vec<Uuid> = sqlx::query_scalar(&format!(
                "select id from push_deliveries where {free} order by next_attempt_at limit $2"
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut rows = Vec::with_capacity(candidates.len());
            for id in candidates {
                // Another replica may have leased it since: only one update wins.
                let claimed = sqlx::query(&format!(
                    "update push_deliveries set lease_until = $2, attempts = attempts + 1, \
                     updated_at = $1 where id = $3 and {free}"
                ))
                .bind(now)
                .bind(lease_until)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected();
                if claimed == 0 {
                    continue;
                }
                let row: Option<DueDeliveryRow> = sqlx::query_as(
                    "select d.id, d.endpoint, d.room_id, d.payload, d.attempts, s.p256dh, s.auth \
                     from push_deliveries d join push_subscriptions s on s.endpoint = d.endpoint \
                     where d.id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?;
                rows.extend(row);
            }
            rows
        });
        rows.into_iter().map(DueDelivery::try_from).collect()
    }

    async fn complete_delivery(&self, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self.db, |pool| {
            sqlx::query("delete from push_deliveries where id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn retry_delivery(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self.db, |pool| {
            sqlx::query(
                "update push_deliveries set next_attempt_at = $2, lease_until = null, \
                 updated_at = $3 where id = $1",
            )
            .bind(id)
            .bind(Timestamp(at))
            .bind(Timestamp::now())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        let before = Timestamp(before);
        with_pool!(self.db, |pool| {
            sqlx::query("delete from processed_events where created_at < $1")
                .bind(before)
                .execute(pool)
                .await?;
            sqlx::query("delete from push_rooms where due_at is null and updated_at < $1")
                .bind(before)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
