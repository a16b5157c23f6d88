//! The SQLite backend of [`AccountStore`]: the embedded default. Timestamps are stored as
//! microseconds since the epoch.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{
    config::DatabaseUrl,
    events::outbox::{self, OutboxStore},
    ids::UserId,
    time,
};
use sqlx::SqlitePool;

use super::{
    rows::{UserRow, USER_COLUMNS},
    AccountStore, NewRegistration, Revoke, StoreError,
};
use crate::{
    domain::{PhoneNumber, ProfilePatch, RefreshToken, User},
    events,
};

/// Accounts in a SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates.
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        shared::db::ensure_sqlite_parent_dir(url)?;
        let pool = shared::db::connect_sqlite(url).await?;
        sqlx::migrate!("../../migrations/accounts/sqlite")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }

    /// Records `token` in the blacklist and revokes its family as `revoke` says; `true` when
    /// neither the token nor its family was blacklisted before. The transaction's first
    /// statement is a write, so it takes SQLite's write lock before it reads anything and
    /// concurrent uses of one token are serialised rather than refused as busy.
    async fn blacklist(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
        revoke: Revoke,
    ) -> Result<bool, StoreError> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        sqlx::query("delete from used_refresh_tokens where expires_at < ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from revoked_token_families where expires_at < ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let fresh = sqlx::query(
            "insert into used_refresh_tokens (jti, expires_at, created_at, updated_at) \
             values (?, ?, ?, ?) on conflict do nothing",
        )
        .bind(&token.jti)
        .bind(time::to_micros(&token.expires_at))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let family_revoked: i64 = sqlx::query_scalar(
            "select exists (select 1 from revoked_token_families where family = ?)",
        )
        .bind(&token.family)
        .fetch_one(&mut *tx)
        .await?;
        if revoke == Revoke::Always || !fresh {
            sqlx::query(
                "insert into revoked_token_families (family, expires_at, created_at, updated_at) \
                 values (?, ?, ?, ?) on conflict (family) do update set \
                 expires_at = max(revoked_token_families.expires_at, excluded.expires_at), \
                 updated_at = excluded.updated_at",
            )
            .bind(&token.family)
            .bind(time::to_micros(&family_expires_at))
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(fresh && family_revoked == 0)
    }
}

fn now_micros() -> i64 {
    time::to_micros(&time::now())
}

#[async_trait]
impl AccountStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(stickers = ids.len()))]
    async fn insert_stickers(&self, ids: &[UserId]) -> Result<(), StoreError> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query("insert into users (id, created_at, updated_at) values (?, ?, ?)")
                .bind(id.as_uuid())
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %registration.user_id))]
    async fn register_user(&self, registration: &NewRegistration) -> Result<User, StoreError> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        let p = &registration.profile;
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "update users set phone_number = ?, password_hash = ?, full_name = ?, \
             phone_number_2 = ?, car_model = ?, car_plate_number = ?, instagram = ?, \
             telegram = ?, whatsapp = ?, is_profile_public = ?, is_registered = 1, \
             registered_at = ?, version = version + 1, updated_at = ? \
             where id = ? and not is_registered returning {USER_COLUMNS}"
        ))
        .bind(registration.phone_number.as_ref())
        .bind(&registration.password_hash)
        .bind(&p.full_name)
        .bind(&p.phone_number_2)
        .bind(&p.car_model)
        .bind(&p.car_plate_number)
        .bind(&p.instagram)
        .bind(&p.telegram)
        .bind(&p.whatsapp)
        .bind(p.is_profile_public)
        .bind(now)
        .bind(now)
        .bind(registration.user_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists: Option<bool> =
                sqlx::query_scalar("select is_registered from users where id = ?")
                    .bind(registration.user_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                Some(_) => StoreError::AlreadyRegistered,
                None => StoreError::UnknownSticker,
            });
        };
        let user = User::from(row);
        outbox::insert_sqlite(&mut tx, &[events::user_registered(&user)]).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn find_user_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where phone_number = ? and is_registered"
        ))
        .bind(phone.as_ref())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("select {USER_COLUMNS} from users where id = ?"))
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn update_profile(&self, id: UserId, patch: &ProfilePatch) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "update users set phone_number = coalesce(?, phone_number), \
             full_name = coalesce(?, full_name), phone_number_2 = coalesce(?, phone_number_2), \
             car_model = coalesce(?, car_model), car_plate_number = coalesce(?, car_plate_number), \
             instagram = coalesce(?, instagram), telegram = coalesce(?, telegram), \
             whatsapp = coalesce(?, whatsapp), is_profile_public = coalesce(?, is_profile_public), \
             version = version + 1, updated_at = ? \
             where id = ? and is_registered returning {USER_COLUMNS}"
        ))
        .bind(patch.phone_number.as_ref().map(AsRef::<str>::as_ref))
        .bind(&patch.full_name)
        .bind(&patch.phone_number_2)
        .bind(&patch.car_model)
        .bind(&patch.car_plate_number)
        .bind(&patch.instagram)
        .bind(&patch.telegram)
        .bind(&patch.whatsapp)
        .bind(patch.is_profile_public)
        .bind(now_micros())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let user = User::from(row.ok_or(StoreError::NotFound)?);
        outbox::insert_sqlite(&mut tx, &[events::user_updated(&user)]).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn list_public_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where is_registered and is_profile_public \
             order by registered_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    #[tracing::instrument(skip_all, fields(user.id = %token.user_id))]
    async fn use_refresh_token(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.blacklist(token, family_expires_at, Revoke::OnReuse)
            .await
    }

    #[tracing::instrument(skip_all, fields(user.id = %token.user_id))]
    async fn is_refresh_token_blacklisted(&self, token: &RefreshToken) -> Result<bool, StoreError> {
        let found: i64 = sqlx::query_scalar(
            "select exists (select 1 from used_refresh_tokens where jti = ?) \
             or exists (select 1 from revoked_token_families where family = ?)",
        )
        .bind(&token.jti)
        .bind(&token.family)
        .fetch_one(&self.pool)
        .await?;
        Ok(found != 0)
    }

    #[tracing::instrument(skip_all, fields(user.id = %token.user_id))]
    async fn blacklist_refresh_token(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.blacklist(token, family_expires_at, Revoke::Always)
            .await
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
