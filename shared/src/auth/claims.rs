//! The claims SimpleJWT puts in its tokens, so tokens issued by the old stack and by this one
//! are interchangeable for clients.

use serde::{Deserialize, Serialize};

/// SimpleJWT's `token_type` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Short-lived, sent as `Authorization: Bearer`.
    Access,
    /// Long-lived, only accepted by `/api/token/refresh/`.
    Refresh,
}

/// The payload of every token: `token_type`, `exp`, `iat`, `jti`, `user_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Access or refresh.
    pub token_type: TokenType,
    /// Expiry, seconds since the epoch; the token is refused from this second on.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id (hex UUID, as SimpleJWT writes it); used to refuse reuse under rotation.
    pub jti: String,
    /// The owner's id, as a hyphenated UUID string.
    pub user_id: String,
}
