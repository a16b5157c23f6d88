//! `User`: a sticker and, once registered, its owner's account and profile.

use shared::ids::UserId;

use super::{PhoneNumber, Profile};

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
