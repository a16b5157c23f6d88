//! The one mapping from accounts storage and hashing failures to HTTP outcomes.

use shared::http::{ApiError, FieldErrors};

use crate::{
    domain::{password_hasher::HashError, RegistrationConflict},
    store::{Constraint, StoreError},
};

/// Adds a refused registration's field error in the guide's words.
pub fn add_conflict(errors: &mut FieldErrors, conflict: RegistrationConflict) {
    match conflict {
        RegistrationConflict::UnknownSticker => errors.add("user_id", "User not found."),
        RegistrationConflict::AlreadyRegistered => {
            errors.add("user_id", "User already registered. Please login.");
        }
        // DRF's unique-validator text.
        RegistrationConflict::PhoneTaken => {
            errors.add(
                "phone_number",
                "user with this phone number already exists.",
            );
        }
    }
}

impl From<RegistrationConflict> for ApiError {
    fn from(conflict: RegistrationConflict) -> Self {
        let mut errors = FieldErrors::default();
        add_conflict(&mut errors, conflict);
        Self::Validation(errors)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Registration(conflict) => conflict.into(),
            StoreError::Conflict(Constraint::PhoneNumber) => {
                RegistrationConflict::PhoneTaken.into()
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
