//! Accounts storage: one trait of domain intents, its implementation on a
//! [`shared::db::Database`] (the same SQL on Postgres and SQLite), and the intent-level error
//! both backends translate into.

pub mod rows;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{db::Schema, ids::UserId};

use crate::domain::{PhoneNumber, Profile, ProfileUpdate, RefreshToken, User};

/// A registration ready to store: the password is already hashed.
#[derive(Debug)]
pub struct NewRegistration {
    /// The sticker being activated.
    pub user_id: UserId,
    /// Login phone.
    pub phone_number: PhoneNumber,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Initial profile.
    pub profile: Profile,
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// Another account has this phone number.
    PhoneNumber,
    /// The sticker id exists already.
    UserId,
}

/// What went wrong, named for what the caller must do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("not found")]
    NotFound,
    /// The sticker being registered is unknown or was registered before.
    #[error("registration refused: {0:?}")]
    Registration(crate::domain::RegistrationConflict),
    /// A unique constraint.
    #[error("conflict on {0:?}")]
    Conflict(Constraint),
    /// The database cannot be reached: 503.
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
        if let Some(constraint) = shared::db::unique_violation(&error) {
            return Self::Conflict(if constraint.contains("phone") {
                Constraint::PhoneNumber
            } else {
                Constraint::UserId
            });
        }
        if shared::db::is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Other(error)
        }
    }
}

/// Everything accounts-api stores.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Issues unregistered stickers.
    async fn insert_stickers(&self, ids: &[UserId]) -> Result<(), StoreError>;

    /// Activates a sticker and queues `accounts.users.<id>.registered`, atomically.
    /// `Registration(..)` or `Conflict(PhoneNumber)` otherwise.
    async fn register_user(&self, registration: &NewRegistration) -> Result<User, StoreError>;

    /// A registered user by login phone.
    async fn find_user_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError>;

    /// Any user (registered or not) by id.
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Applies an account change (login phone, profile) to a registered user and queues `.updated`, atomically.
    async fn update_profile(&self, id: UserId, update: &ProfileUpdate) -> Result<User, StoreError>;

    /// Registered users with a public profile, oldest registration first.
    async fn list_public_users(&self) -> Result<Vec<User>, StoreError>;

    /// Exchanges a refresh token under rotation, atomically: records its `jti` as used and
    /// answers `true`. Answers `false` when the token or its family is blacklisted, or when the
    /// token was used before: that is reuse, so its whole family is revoked until
    /// `family_expires_at`. Expired blacklist rows are pruned first.
    async fn use_refresh_token(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Whether a refresh token, or its family, is blacklisted (refresh without rotation).
    async fn is_refresh_token_blacklisted(&self, token: &RefreshToken) -> Result<bool, StoreError>;

    /// Logout: blacklists the token and revokes its family until `family_expires_at`,
    /// atomically. `false` when it was blacklisted already. Expired rows are pruned first.
    async fn blacklist_refresh_token(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The accounts schema on both backends, and the store on it.
pub static SCHEMA: Schema<dyn AccountStore> = Schema {
    postgres: sqlx::migrate!("../../migrations/accounts/postgres"),
    sqlite: sqlx::migrate!("../../migrations/accounts/sqlite"),
    store: |db| Arc::new(sql::SqlStore::new(db)),
};

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migrations() {
        let postgres = shared::testing::migration_names("accounts", "postgres");
        assert!(!postgres.is_empty());
        assert_eq!(
            postgres,
            shared::testing::migration_names("accounts", "sqlite")
        );
    }
}
