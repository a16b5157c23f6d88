//! Notifier storage: one trait of domain intents, its implementation on a
//! [`shared::db::Database`] (the same SQL on Postgres and SQLite), and the intent-level error
//! both backends translate into.

pub mod rows;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{db::Schema, ids::UserId};
use uuid::Uuid;

use crate::domain::{
    Dispatch, NewSubscription, OwnerSettings, PendingRoom, Silence, SubscriptionKeys,
};

/// What went wrong, named for what the caller must do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("not found")]
    NotFound,
    /// The owner holds as many subscriptions as allowed.
    #[error("subscription limit reached")]
    LimitReached,
    /// The database cannot be reached: 503, or retry.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a bug.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(error, sqlx::Error::RowNotFound) {
            return Self::NotFound;
        }
        if shared::db::is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Other(error)
        }
    }
}

/// Whether storing a subscription created it or replaced an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A new endpoint.
    Created,
    /// The endpoint was known: its keys and owner are now the ones given.
    Updated,
}

/// What a chat event asks of the notifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatChange {
    /// `chat.rooms.<id>.created`.
    RoomCreated {
        /// The room.
        room_id: Uuid,
        /// Its owner.
        owner_id: UserId,
        /// The visitor's name ("" when none).
        visitor_name: String,
    },
    /// `chat.rooms.<id>.messages` from a visitor.
    VisitorMessage {
        /// The room.
        room_id: Uuid,
        /// Its owner.
        owner_id: UserId,
        /// The message's preview.
        preview: String,
        /// When it was written.
        at: DateTime<Utc>,
    },
    /// `chat.owners.<id>.settings`.
    Settings(OwnerSettings),
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event had been applied before: nothing changed.
    Duplicate,
    /// A room now has something to notify; `coalesced` when a message waiting already was
    /// replaced by this one.
    Pending {
        /// An unsent message's preview was replaced.
        coalesced: bool,
    },
    /// The owner must not hear of it: nothing pending.
    Silenced(Silence),
    /// Settings stored, or older than those held.
    Settings,
}

/// A delivery leased for sending: the payload and the subscription's keys.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The delivery.
    pub id: Uuid,
    /// Where it goes, as stored.
    pub endpoint: String,
    /// The room it is about (the `Topic`).
    pub room_id: Uuid,
    /// The JSON payload, unencrypted.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The subscription's keys.
    pub keys: SubscriptionKeys,
}

/// Everything the notifier stores.
#[async_trait]
pub trait NotifierStore: Send + Sync + 'static {
    /// Stores a subscription, or gives a known endpoint its new keys and owner. Refused with
    /// `LimitReached` when the owner holds `max_per_owner` other subscriptions.
    async fn upsert_subscription(
        &self,
        subscription: &NewSubscription,
        max_per_owner: u32,
    ) -> Result<Saved, StoreError>;

    /// Deletes the owner's subscription of `endpoint`; `false` when the owner has none.
    async fn delete_subscription(&self, owner: UserId, endpoint: &str) -> Result<bool, StoreError>;

    /// Forgets an endpoint the push service called gone, with its deliveries.
    async fn remove_endpoint(&self, endpoint: &str) -> Result<(), StoreError>;

    /// Every stored subscription.
    async fn count_subscriptions(&self) -> Result<i64, StoreError>;

    /// Applies an event once, atomically with recording its id.
    async fn apply_event(
        &self,
        event_id: Uuid,
        change: &ChatChange,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError>;

    /// An owner's settings, if any event told them.
    async fn find_owner_settings(&self, owner: UserId)
        -> Result<Option<OwnerSettings>, StoreError>;

    /// Rooms whose notification is due at `now`, the longest waiting first.
    async fn list_due_rooms(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PendingRoom>, StoreError>;

    /// Records a dispatch of the room as `revision` had it, with one delivery per
    /// subscription of its owner when it sends something, atomically; `None` when the room
    /// has changed since it was read (nothing written), else the deliveries queued.
    async fn record_dispatch(
        &self,
        revision: i64,
        dispatch: &Dispatch,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StoreError>;

    /// Leases up to `limit` deliveries due at `now` until `lease_until`, counting an attempt.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// The push service took the delivery, or it is given up: it is deleted.
    async fn complete_delivery(&self, id: Uuid) -> Result<(), StoreError>;

    /// Tries the delivery again at `at`.
    async fn retry_delivery(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Forgets event ids recorded, and idle rooms last written, before `before`.
    async fn prune(&self, before: DateTime<Utc>) -> Result<(), StoreError>;
}

/// The notifier schema on both backends, and the store on it.
pub static SCHEMA: Schema<dyn NotifierStore> = Schema {
    postgres: sqlx::migrate!("../../migrations/notifier/postgres"),
    sqlite: sqlx::migrate!("../../migrations/notifier/sqlite"),
    store: |db| Arc::new(sql::SqlStore::new(db)),
};

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migrations() {
        let postgres = shared::testing::migration_names("notifier", "postgres");
        assert!(!postgres.is_empty());
        assert_eq!(
            postgres,
            shared::testing::migration_names("notifier", "sqlite")
        );
    }
}
