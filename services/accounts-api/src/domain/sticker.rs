//! What stored state can refuse a registration for: the sticker (unknown, or activated
//! before) and the login phone (another account's). Classified here only, whether the
//! handler checks before hashing or the store finds out while writing.

use shared::ids::UserId;

use super::User;

/// A reason stored state refuses a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationConflict {
    /// No sticker has this id.
    UnknownSticker,
    /// The sticker was activated before.
    AlreadyRegistered,
    /// Another account logs in with this phone number.
    PhoneTaken,
}

impl RegistrationConflict {
    /// The sticker's part: `None` when a sticker with this id waits to be activated.
    pub fn of_sticker(sticker: Option<&User>) -> Option<Self> {
        match sticker {
            None => Some(Self::UnknownSticker),
            Some(user) if user.is_registered => Some(Self::AlreadyRegistered),
            Some(_) => None,
        }
    }

    /// The phone's part: `None` when nobody holds it, or when its holder is this very
    /// sticker (a repeated submission: "already registered" alone, not a second error).
    pub fn of_phone(holder: Option<&User>, sticker: Option<UserId>) -> Option<Self> {
        holder
            .filter(|holder| Some(holder.id) != sticker)
            .map(|_| Self::PhoneTaken)
    }
}
