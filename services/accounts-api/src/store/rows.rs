//! Row shapes shared by both backends and their mapping into domain types.

use shared::ids::UserId;
use uuid::Uuid;

use crate::domain::{user::Profile, PhoneNumber, User};

/// The columns every user query selects, in [`UserRow`]'s order.
pub const USER_COLUMNS: &str = "id, phone_number, password_hash, full_name, phone_number_2, \
    car_model, car_plate_number, instagram, telegram, whatsapp, is_profile_public, \
    is_registered, version";

/// One `users` row.
#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub phone_number: Option<String>,
    pub password_hash: Option<String>,
    pub full_name: String,
    pub phone_number_2: String,
    pub car_model: String,
    pub car_plate_number: String,
    pub instagram: String,
    pub telegram: String,
    pub whatsapp: String,
    pub is_profile_public: bool,
    pub is_registered: bool,
    pub version: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: UserId::from(row.id),
            phone_number: row.phone_number.map(PhoneNumber::from_stored),
            password_hash: row.password_hash,
            profile: Profile {
                full_name: row.full_name,
                phone_number_2: row.phone_number_2,
                car_model: row.car_model,
                car_plate_number: row.car_plate_number,
                instagram: row.instagram,
                telegram: row.telegram,
                whatsapp: row.whatsapp,
                is_profile_public: row.is_profile_public,
            },
            is_registered: row.is_registered,
            version: row.version,
        }
    }
}
