//! `User`: a sticker and, once registered, its owner's account and profile.

use shared::ids::UserId;

use super::PhoneNumber;

/// The profile fields an owner fills in, all optional ("" when not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Display name.
    pub full_name: String,
    /// A second phone number (E.164 or "").
    pub phone_number_2: String,
    /// Car model.
    pub car_model: String,
    /// Plate number.
    pub car_plate_number: String,
    /// Instagram handle or link.
    pub instagram: String,
    /// Telegram handle or link.
    pub telegram: String,
    /// WhatsApp number or link.
    pub whatsapp: String,
    /// Whether the profile is shown to visitors.
    pub is_profile_public: bool,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The sticker id.
    pub id: UserId,
    /// `None` until the sticker is registered.
    pub phone_number: Option<PhoneNumber>,
    /// The argon2id PHC string; `None` until registered.
    pub password_hash: Option<String>,
    /// Profile.
    pub profile: Profile,
    /// Whether the sticker has been activated.
    pub is_registered: bool,
    /// Bumped by every change; carried in events.
    pub version: i64,
}

impl User {
    /// Whether visitors may see the profile.
    pub fn is_publicly_visible(&self) -> bool {
        self.is_registered && self.profile.is_profile_public
    }
}
