//! Row shapes shared by both backends and their mapping into domain types.

use shared::{db::Timestamp, ids::UserId};
use uuid::Uuid;

use super::{DueDelivery, StoreError};
use crate::domain::{AuthSecret, OwnerSettings, P256dh, PendingRoom, SubscriptionKeys};

/// The columns of [`PendingRoomRow`].
pub const ROOM_COLUMNS: &str = "room_id, owner_id, visitor_name, room_pending, message_preview, \
    message_at, due_at, next_allowed_at, revision";

/// One `push_rooms` row.
#[derive(sqlx::FromRow)]
pub struct PendingRoomRow {
    pub room_id: Uuid,
    pub owner_id: Uuid,
    pub visitor_name: String,
    pub room_pending: bool,
    pub message_preview: Option<String>,
    pub message_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub next_allowed_at: Option<Timestamp>,
    pub revision: i64,
}

impl From<PendingRoomRow> for PendingRoom {
    fn from(row: PendingRoomRow) -> Self {
        Self {
            room_id: row.room_id,
            owner_id: UserId::from(row.owner_id),
            visitor_name: row.visitor_name,
            room_pending: row.room_pending,
            message_preview: row.message_preview,
            message_at: row.message_at.map(Into::into),
            due_at: row.due_at.map(Into::into),
            next_allowed_at: row.next_allowed_at.map(Into::into),
            revision: row.revision,
        }
    }
}

/// The columns of [`OwnerSettingsRow`].
pub const SETTINGS_COLUMNS: &str = "owner_id, accepting_messages, quiet_until, version";

/// One `owner_settings` row.
#[derive(sqlx::FromRow)]
pub struct OwnerSettingsRow {
    pub owner_id: Uuid,
    pub accepting_messages: bool,
    pub quiet_until: Option<Timestamp>,
    pub version: i64,
}

impl From<OwnerSettingsRow> for OwnerSettings {
    fn from(row: OwnerSettingsRow) -> Self {
        Self {
            owner_id: UserId::from(row.owner_id),
            accepting_messages: row.accepting_messages,
            quiet_until: row.quiet_until.map(Into::into),
            version: row.version,
        }
    }
}

/// A delivery joined with its subscription's keys.
#[derive(sqlx::FromRow)]
pub struct DueDeliveryRow {
    pub id: Uuid,
    pub endpoint: String,
    pub room_id: Uuid,
    pub payload: String,
    pub attempts: i32,
    pub p256dh: Vec<u8>,
    pub auth: Vec<u8>,
}

impl TryFrom<DueDeliveryRow> for DueDelivery {
    type Error = StoreError;

    fn try_from(row: DueDeliveryRow) -> Result<Self, StoreError> {
        // Only parsed keys are ever stored; a row that does not parse was written by hand.
        let corrupt = |e: crate::domain::KeyError| {
            StoreError::Other(sqlx::Error::Decode(
                format!("stored subscription key: {e}").into(),
            ))
        };
        Ok(Self {
            id: row.id,
            endpoint: row.endpoint,
            room_id: row.room_id,
            payload: row.payload,
            attempts: row.attempts,
            keys: SubscriptionKeys {
                p256dh: P256dh::from_bytes(&row.p256dh).map_err(corrupt)?,
                auth: AuthSecret::from_bytes(&row.auth).map_err(corrupt)?,
            },
        })
    }
}
