//! Row shapes shared by both backends and their mapping into domain types. The profile's
//! columns, their row and their binds come from [`crate::domain::profile_fields`]: a column is
//! named as its field.

use shared::ids::UserId;
use sqlx::{query::QueryAs, Database, Encode, Type};
use uuid::Uuid;

use crate::domain::{profile_fields::profile_fields, PhoneNumber, Profile, ProfilePatch, User};

/// A query whose own binds come first; the profile's follow in [`PROFILE_COLUMNS`] order.
type Query<'q, DB, O> = QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>>;

/// Declares the profile's columns, its row and its binds from the field list.
macro_rules! profile_columns {
    ([] $($group:ident {
        $($(#[doc = $doc:literal])* $name:ident: $ty:ty = $kind:ident($($arg:expr),*),)*
    })*) => {
        /// The profile's columns, in the order [`bind_profile`] and [`bind_patch`] bind them.
        pub const PROFILE_COLUMNS: &[&str] = &[$($(stringify!($name),)*)*];

        /// The columns every user query selects, in [`UserRow`]'s order.
        pub const USER_COLUMNS: &str = concat!(
            "id, phone_number, password_hash, ",
            $($(stringify!($name), ", ",)*)*
            "is_registered, version"
        );

        /// The profile part of a `users` row.
        #[derive(Debug, sqlx::FromRow)]
        pub struct ProfileRow {
            $($(pub $name: $ty,)*)*
        }

        impl From<ProfileRow> for Profile {
            fn from(row: ProfileRow) -> Self {
                Self { $($($name: row.$name,)*)* }
            }
        }

        /// Binds every profile field after `query`'s own binds.
        pub fn bind_profile<'q, DB: Database, O>(
            query: Query<'q, DB, O>,
            profile: &'q Profile,
        ) -> Query<'q, DB, O>
        where
            $($(&'q $ty: Encode<'q, DB> + Type<DB>,)*)*
        {
            query $($(.bind(&profile.$name))*)*
        }

        /// Binds every field of `patch` after `query`'s own binds; `NULL` keeps a column.
        pub fn bind_patch<'q, DB: Database, O>(
            query: Query<'q, DB, O>,
            patch: &'q ProfilePatch,
        ) -> Query<'q, DB, O>
        where
            $($(&'q Option<$ty>: Encode<'q, DB> + Type<DB>,)*)*
        {
            query $($(.bind(&patch.$name))*)*
        }
    };
}

profile_fields!(profile_columns);

/// One `users` row.
#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub phone_number: Option<String>,
    pub password_hash: Option<String>,
    #[sqlx(flatten)]
    pub profile: ProfileRow,
    pub is_registered: bool,
    pub version: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: UserId::from(row.id),
            phone_number: row.phone_number.map(PhoneNumber::from_stored),
            password_hash: row.password_hash,
            profile: Profile::from(row.profile),
            is_registered: row.is_registered,
            version: row.version,
        }
    }
}
