//! The two user objects of the wire conventions: the owner's own (with `is_profile_public`)
//! and the public one (without). Never a hash, token or internal flag.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::User;

/// The owner's own user object.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerUser {
    /// Sticker / user UUID.
    #[schema(format = Uuid)]
    pub id: String,
    /// E.164 login phone.
    pub phone_number: String,
    /// Display name ("" when not set).
    pub full_name: String,
    /// Second phone ("" when not set).
    pub phone_number_2: String,
    /// Car model.
    pub car_model: String,
    /// Plate number.
    pub car_plate_number: String,
    /// Instagram.
    pub instagram: String,
    /// Telegram.
    pub telegram: String,
    /// WhatsApp.
    pub whatsapp: String,
    /// Whether visitors see the profile.
    pub is_profile_public: bool,
}

/// The public profile: the owner object without `is_profile_public`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicUser {
    /// Sticker / user UUID.
    #[schema(format = Uuid)]
    pub id: String,
    /// E.164 phone.
    pub phone_number: String,
    /// Display name.
    pub full_name: String,
    /// Second phone.
    pub phone_number_2: String,
    /// Car model.
    pub car_model: String,
    /// Plate number.
    pub car_plate_number: String,
    /// Instagram.
    pub instagram: String,
    /// Telegram.
    pub telegram: String,
    /// WhatsApp.
    pub whatsapp: String,
}

impl From<&User> for OwnerUser {
    fn from(user: &User) -> Self {
        let p = &user.profile;
        Self {
            id: user.id.to_string(),
            phone_number: user
                .phone_number
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            full_name: p.full_name.clone(),
            phone_number_2: p.phone_number_2.clone(),
            car_model: p.car_model.clone(),
            car_plate_number: p.car_plate_number.clone(),
            instagram: p.instagram.clone(),
            telegram: p.telegram.clone(),
            whatsapp: p.whatsapp.clone(),
            is_profile_public: p.is_profile_public,
        }
    }
}

impl From<&User> for PublicUser {
    fn from(user: &User) -> Self {
        let owner = OwnerUser::from(user);
        Self {
            id: owner.id,
            phone_number: owner.phone_number,
            full_name: owner.full_name,
            phone_number_2: owner.phone_number_2,
            car_model: owner.car_model,
            car_plate_number: owner.car_plate_number,
            instagram: owner.instagram,
            telegram: owner.telegram,
            whatsapp: owner.whatsapp,
        }
    }
}
