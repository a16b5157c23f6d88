//! The one mapping from accounts storage and hashing failures to HTTP outcomes.

use shared::http::{ApiError, FieldErrors};

use crate::{
    domain::password_hasher::HashError,
    store::{Constraint, StoreError},
};

/// The guide's exact text for a sticker that was activated before.
pub const ALREADY_REGISTERED: &str = "User already registered. Please login.";
/// No sticker with that id.
pub const USER_NOT_FOUND: &str = "User not found.";
/// DRF's unique-validator text for the phone number.
pub const PHONE_TAKEN: &str = "user with this phone number already exists.";

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::UnknownSticker => {
                Self::Validation(FieldErrors::single("user_id", USER_NOT_FOUND))
            }
            StoreError::AlreadyRegistered => {
                Self::Validation(FieldErrors::single("user_id", ALREADY_REGISTERED))
            }
            StoreError::Conflict(Constraint::PhoneNumber) => {
                Self::Validation(FieldErrors::single("phone_number", PHONE_TAKEN))
            }
            StoreError::Conflict(Constraint::UserId) => {
                Self::Internal(anyhow::anyhow!("sticker id collision"))
            }
            StoreError::Unavailable(e) => Self::Unavailable(e.to_string()),
            StoreError::Other(e) => Self::Internal(e.into()),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            // The hashers bound memory, not a client's rate: a second is a fair retry.
            HashError::Busy => Self::Throttled { wait_secs: 1 },
            HashError::Failed(e) => Self::Internal(anyhow::anyhow!(e)),
        }
    }
}
