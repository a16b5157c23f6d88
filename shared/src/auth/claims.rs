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

/// The payload of every token: SimpleJWT's `token_type`, `exp`, `iat`, `jti`, `user_id`, and on
/// refresh tokens obtained by rotation our own `family`.
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
    /// Refresh tokens only: the `jti` of the refresh token the login issued, carried through
    /// every rotation, so reuse of one rotated-away token can revoke all its descendants.
    /// Absent on a login's own refresh token (and on every token of the old stack): such a
    /// token is the root of its family. Clients never read it; SimpleJWT ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}
