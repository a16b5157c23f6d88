//! The Postgres backend of [`AccountStore`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{
    config::DatabaseUrl,
    events::outbox::{self, OutboxStore},
    ids::UserId,
};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{
    rows::{UserRow, USER_COLUMNS},
    AccountStore, NewRegistration, Revoke, StoreError,
};
use crate::{
    domain::{PhoneNumber, ProfilePatch, RefreshToken, User},
    events,
};

/// Accounts on Postgres.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Records `token` in the blacklist and revokes its family as `revoke` says; `true` when
    /// neither the token nor its family was blacklisted before. The insert comes first: of two
    /// concurrent uses of one token, the second waits on the first's row and sees it.
    async fn blacklist(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
        revoke: Revoke,
    ) -> Result<bool, StoreError> {
        // Outside the transaction: pruning must not hold row locks on the exchange path.
        sqlx::query("delete from used_refresh_tokens where expires_at < now()")
            .execute(&self.pool)
            .await?;
        sqlx::query("delete from revoked_token_families where expires_at < now()")
            .execute(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        let fresh = sqlx::query(
            "insert into used_refresh_tokens (jti, expires_at) values ($1, $2) on conflict do nothing",
        )
        .bind(&token.jti)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let family_revoked: bool = sqlx::query_scalar(
            "select exists (select 1 from revoked_token_families where family = $1)",
        )
        .bind(&token.family)
        .fetch_one(&mut *tx)
        .await?;
        if revoke == Revoke::Always || !fresh {
            sqlx::query(
                "insert into revoked_token_families (family, expires_at) values ($1, $2) \
                 on conflict (family) do update set \
                 expires_at = greatest(revoked_token_families.expires_at, excluded.expires_at), \
                 updated_at = now()",
            )
            .bind(&token.family)
            .bind(family_expires_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(fresh && !family_revoked)
    }

    /// Connects and migrates.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        let pool = shared::db::connect_postgres(url, max_connections).await?;
        sqlx::migrate!("../../migrations/accounts/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl AccountStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(stickers = ids.len()))]
    async fn insert_stickers(&self, ids: &[UserId]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in ids.chunks(10_000) {
            let mut query: QueryBuilder<Postgres> = QueryBuilder::new("insert into users (id) ");
            query.push_values(chunk, |mut row, id| {
                row.push_bind(id.as_uuid());
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %registration.user_id))]
    async fn register_user(&self, registration: &NewRegistration) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await?;
        let p = &registration.profile;
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "update users set phone_number = $2, password_hash = $3, full_name = $4, \
             phone_number_2 = $5, car_model = $6, car_plate_number = $7, instagram = $8, \
             telegram = $9, whatsapp = $10, is_profile_public = $11, is_registered = true, \
             registered_at = now(), version = version + 1, updated_at = now() \
             where id = $1 and not is_registered returning {USER_COLUMNS}"
        ))
        .bind(registration.user_id.as_uuid())
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
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists: Option<bool> =
                sqlx::query_scalar("select is_registered from users where id = $1")
                    .bind(registration.user_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                Some(_) => StoreError::AlreadyRegistered,
                None => StoreError::UnknownSticker,
            });
        };
        let user = User::from(row);
        outbox::insert_postgres(&mut tx, &[events::user_registered(&user)]).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn find_user_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where phone_number = $1 and is_registered"
        ))
        .bind(phone.as_ref())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("select {USER_COLUMNS} from users where id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn update_profile(&self, id: UserId, patch: &ProfilePatch) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "update users set phone_number = coalesce($2, phone_number), \
             full_name = coalesce($3, full_name), phone_number_2 = coalesce($4, phone_number_2), \
             car_model = coalesce($5, car_model), car_plate_number = coalesce($6, car_plate_number), \
             instagram = coalesce($7, instagram), telegram = coalesce($8, telegram), \
             whatsapp = coalesce($9, whatsapp), is_profile_public = coalesce($10, is_profile_public), \
             version = version + 1, updated_at = now() \
             where id = $1 and is_registered returning {USER_COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(patch.phone_number.as_ref().map(AsRef::<str>::as_ref))
        .bind(&patch.full_name)
        .bind(&patch.phone_number_2)
        .bind(&patch.car_model)
        .bind(&patch.car_plate_number)
        .bind(&patch.instagram)
        .bind(&patch.telegram)
        .bind(&patch.whatsapp)
        .bind(patch.is_profile_public)
        .fetch_optional(&mut *tx)
        .await?;
        let user = User::from(row.ok_or(StoreError::NotFound)?);
        outbox::insert_postgres(&mut tx, &[events::user_updated(&user)]).await?;
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
        Ok(sqlx::query_scalar(
            "select exists (select 1 from used_refresh_tokens where jti = $1) \
             or exists (select 1 from revoked_token_families where family = $2)",
        )
        .bind(&token.jti)
        .bind(&token.family)
        .fetch_one(&self.pool)
        .await?)
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
        Arc::new(outbox::PostgresOutbox(self.pool.clone()))
    }
}
