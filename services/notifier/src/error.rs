//! The one mapping from notifier storage failures to HTTP outcomes.

use shared::http::ApiError;

use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::LimitReached => Self::LimitReached(
                "Too many push subscriptions for this account; remove one first.",
            ),
            StoreError::Unavailable(e) => Self::Unavailable(e.to_string()),
            StoreError::Other(e) => Self::Internal(e.into()),
        }
    }
}
