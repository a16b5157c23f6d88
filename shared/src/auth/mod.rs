//! JWT compatible with SimpleJWT: claims, one key ring shared by both services, and the
//! extractors that turn an `Authorization` header into an authenticated owner.

pub mod claims;
pub mod extract;
pub mod key_ring;

pub use claims::{Claims, TokenType};
pub use extract::OwnerAuth;
pub use key_ring::{AccessGrant, KeyRing, TokenError, TokenSigner, TokenVerifier};
