//! [`AccountStore`] on either backend: each query is written once (`$N` placeholders,
//! [`Timestamp`] binds) and run on the pool the `DATABASE_URL` chose.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::{
    db::{Database, Timestamp},
    events::outbox::InsertOutbox,
    ids::UserId,
    with_pool,
};
use sqlx::QueryBuilder;

use super::{
    rows::{bind_patch, bind_profile, UserRow, PROFILE_COLUMNS, USER_COLUMNS},
    AccountStore, NewRegistration, StoreError,
};
use crate::{
    domain::{PhoneNumber, ProfileUpdate, RefreshToken, RegistrationConflict, User},
    events,
};

/// Rows per insert statement: three binds each, under SQLite's 32,766 variables.
const STICKERS_PER_STATEMENT: usize = 10_000;

/// Activates a sticker: `$1` id, `$2` now, `$3` login phone, `$4` password hash, then every
/// profile field ([`bind_profile`]). Built from the field list, once.
static REGISTER_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "update users set phone_number = $3, password_hash = $4, {}, is_registered = true, \
         registered_at = $2, version = version + 1, updated_at = $2 \
         where id = $1 and not is_registered returning {USER_COLUMNS}",
        profile_assignments(5, |column, n| format!("{column} = ${n}")),
    )
});

/// Changes an owner's account: `$1` id, `$2` now, `$3` login phone, then every profile field
/// ([`bind_patch`]); a `NULL` keeps the column as it is.
static UPDATE_PROFILE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "update users set phone_number = coalesce($3, phone_number), {}, \
         version = version + 1, updated_at = $2 \
         where id = $1 and is_registered returning {USER_COLUMNS}",
        profile_assignments(4, |column, n| format!(
            "{column} = coalesce(${n}, {column})"
        )),
    )
});

/// One `assign(column, placeholder)` per profile column, placeholders numbered from `first`.
fn profile_assignments(first: usize, assign: impl Fn(&str, usize) -> String) -> String {
    let assignments: Vec<String> = (first..)
        .zip(PROFILE_COLUMNS)
        .map(|(n, column)| assign(column, n))
        .collect();
    assignments.join(", ")
}

/// Accounts on a [`Database`].
pub struct SqlStore {
    db: Database,
}

/// When recording a refresh token in the blacklist also revokes its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revoke {
    /// Only when the token was recorded before: reuse under rotation.
    OnReuse,
    /// Always: logout.
    Always,
}

impl SqlStore {
    pub(super) fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records `token` in the blacklist and revokes its family as `revoke` says; `true` when
    /// neither the token nor its family was blacklisted before. The transaction's first
    /// statement is the insert: of two concurrent uses of one token, the second waits on the
    /// first's row (Postgres) or for the write lock (SQLite), and sees it.
    async fn blacklist(
        &self,
        token: &RefreshToken,
        family_expires_at: DateTime<Utc>,
        revoke: Revoke,
    ) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        with_pool!(self.db, |pool| {
            // Outside the transaction: pruning must not hold locks on the exchange path.
            sqlx::query("delete from used_refresh_tokens where expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query("delete from revoked_token_families where expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?;
            let mut tx = pool.begin().await?;
            let fresh = sqlx::query(
                "insert into used_refresh_tokens (jti, expires_at, created_at, updated_at) \
                 values ($1, $2, $3, $3) on conflict do nothing",
            )
            .bind(&token.jti)
            .bind(Timestamp(token.expires_at))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let family_revoked: i64 =
                sqlx::query_scalar("select count(*) from revoked_token_families where family = $1")
                    .bind(&token.family)
                    .fetch_one(&mut *tx)
                    .await?;
            if revoke == Revoke::Always || !fresh {
                sqlx::query(
                    "insert into revoked_token_families (family, expires_at, created_at, updated_at) \
                     values ($1, $2, $3, $3) on conflict (family) do update set \
                     expires_at = case when excluded.expires_at > revoked_token_families.expires_at \
                     then excluded.expires_at else revoked_token_families.expires_at end, \
                     updated_at = excluded.updated_at",
                )
                .bind(&token.family)
                .bind(Timestamp(family_expires_at))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(fresh && family_revoked == 0)
        })
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    #[tracing::instrument(skip_all, fields(stickers = ids.len()))]
    async fn insert_stickers(&self, ids: &[UserId]) -> Result<(), StoreError> {
        let now = Timestamp::now();
        with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in ids.chunks(STICKERS_PER_STATEMENT) {
                let mut query =
                    QueryBuilder::new("insert into users (id, created_at, updated_at) ");
                query.push_values(chunk, |mut row, id| {
                    row.push_bind(id.as_uuid()).push_bind(now).push_bind(now);
                });
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    #[tracing::instrument(skip_all, fields(user.id = %registration.user_id))]
    async fn register_user(&self, registration: &NewRegistration) -> Result<User, StoreError> {
        let now = Timestamp::now();
        let user = with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<UserRow> = bind_profile(
                sqlx::query_as(&REGISTER_USER)
                    .bind(registration.user_id.as_uuid())
                    .bind(now)
                    .bind(registration.phone_number.as_ref())
                    .bind(&registration.password_hash),
                &registration.profile,
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                let sticker: Option<UserRow> =
                    sqlx::query_as(&format!("select {USER_COLUMNS} from users where id = $1"))
                        .bind(registration.user_id.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await?;
                let sticker = sticker.map(User::from);
                let conflict = RegistrationConflict::of_sticker(sticker.as_ref())
                    .unwrap_or(RegistrationConflict::AlreadyRegistered);
                return Err(StoreError::Registration(conflict));
            };
            let user = User::from(row);
            tx.insert_outbox(&[events::user_registered(&user)]).await?;
            tx.commit().await?;
            user
        });
        self.db.outbox_written();
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn find_user_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let query =
            format!("select {USER_COLUMNS} from users where phone_number = $1 and is_registered");
        let row: Option<UserRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(phone.as_ref())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let query = format!("select {USER_COLUMNS} from users where id = $1");
        let row: Option<UserRow> = with_pool!(self.db, |pool| {
            sqlx::query_as(&query)
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn update_profile(&self, id: UserId, update: &ProfileUpdate) -> Result<User, StoreError> {
        let user = with_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<UserRow> = bind_patch(
                sqlx::query_as(&UPDATE_PROFILE)
                    .bind(id.as_uuid())
                    .bind(Timestamp::now())
                    .bind(update.phone_number.as_ref().map(AsRef::<str>::as_ref)),
                &update.profile,
            )
            .fetch_optional(&mut *tx)
            .await?;
            let user = User::from(row.ok_or(StoreError::NotFound)?);
            tx.insert_outbox(&[events::user_updated(&user)]).await?;
            tx.commit().await?;
            user
        });
        self.db.outbox_written();
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn list_public_users(&self) -> Result<Vec<User>, StoreError> {
        let query = format!(
            "select {USER_COLUMNS} from users where is_registered and is_profile_public \
             order by registered_at, id"
        );
        let rows: Vec<UserRow> = with_pool!(self.db, |pool| sqlx::query_as(&query)
            .fetch_all(pool)
            .await?);
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
        let found: i64 = with_pool!(self.db, |pool| {
            sqlx::query_scalar(
                "select (select count(*) from used_refresh_tokens where jti = $1) \
                 + (select count(*) from revoked_token_families where family = $2)",
            )
            .bind(&token.jti)
            .bind(&token.family)
            .fetch_one(pool)
            .await?
        });
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
}
