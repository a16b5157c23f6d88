//! The one mapping from chat storage failures to HTTP outcomes.

use shared::http::ApiError;

use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict => Self::Internal(anyhow::anyhow!("unexpected id collision")),
            StoreError::Unavailable(e) => Self::Unavailable(e.to_string()),
            StoreError::Other(e) => Self::Internal(e.into()),
        }
    }
}
