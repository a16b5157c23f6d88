//! One key ring for the whole system: HS256 keys from `JWT_SECRET`, older keys accepted while
//! they rotate out. Signing ([`TokenSigner`]) and verifying ([`TokenVerifier`]) are separate
//! types, so a service that only verifies (chat-gateway) cannot mint tokens.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::claims::{Claims, TokenType};
use crate::ids::UserId;

/// Why a token was refused; each maps to SimpleJWT's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, unknown key, malformed token or claims.
    #[error("Token is invalid")]
    Invalid,
    /// `exp` has passed (no leeway).
    #[error("Token is expired")]
    Expired,
    /// An access token where a refresh token belongs, or the reverse.
    #[error("Token has wrong type")]
    WrongType,
}

struct VerifyingKey {
    kid: String,
    key: DecodingKey,
}

/// Verifies tokens signed by the current key or any previous key.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<Vec<VerifyingKey>>,
}

/// Signs tokens with the current key. Only accounts-api holds one.
#[derive(Clone)]
pub struct TokenSigner {
    kid: String,
    key: Arc<EncodingKey>,
}

/// What a valid access token grants: the owner it names, until it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessGrant {
    /// The owner.
    pub user_id: UserId,
    /// The first instant at which the token is refused.
    pub expires_at: DateTime<Utc>,
}

/// The signing key and every key still accepted for verification.
pub struct KeyRing {
    signer: TokenSigner,
    verifier: TokenVerifier,
}

/// The key id is derived from the secret, so every service agrees on it without more config.
fn key_id(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..4])
}

impl KeyRing {
    /// `current` signs; `current` and `previous` verify.
    pub fn new(current: &SecretString, previous: &[SecretString]) -> Self {
        let current_secret = current.expose_secret();
        let keys = std::iter::once(current)
            .chain(previous)
            .map(|secret| VerifyingKey {
                kid: key_id(secret.expose_secret()),
                key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            })
            .collect();
        Self {
            signer: TokenSigner {
                kid: key_id(current_secret),
                key: Arc::new(EncodingKey::from_secret(current_secret.as_bytes())),
            },
            verifier: TokenVerifier {
                keys: Arc::new(keys),
            },
        }
    }

    /// The half that signs.
    pub fn signer(&self) -> TokenSigner {
        self.signer.clone()
    }

    /// The half that verifies.
    pub fn verifier(&self) -> TokenVerifier {
        self.verifier.clone()
    }
}

impl TokenSigner {
    /// Signs a token of `token_type` for `user` that expires `lifetime_secs` from now.
    pub fn sign(
        &self,
        user: UserId,
        token_type: TokenType,
        lifetime_secs: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign_in_family(user, token_type, lifetime_secs, None)
    }

    /// Like [`Self::sign`], for a refresh token that descends by rotation from `family` (see
    /// [`Claims::family`]); `None` starts a new family.
    pub fn sign_in_family(
        &self,
        user: UserId,
        token_type: TokenType,
        lifetime_secs: i64,
        family: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            token_type,
            exp: now + lifetime_secs,
            iat: now,
            jti: Uuid::new_v4().simple().to_string(),
            user_id: user.to_string(),
            family: family.map(str::to_owned),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

impl TokenVerifier {
    /// Checks signature, expiry (exact, no leeway) and type, in SimpleJWT's order.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below with `>=`, as PyJWT does; jsonwebtoken's check is `>`.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.required_spec_claims.clear();
        let candidates = self
            .keys
            .iter()
            .filter(|k| header.kid.as_deref().is_none_or(|kid| kid == k.kid));
        let claims = candidates
            .filter_map(|k| jsonwebtoken::decode::<Claims>(token, &k.key, &validation).ok())
            .map(|data| data.claims)
            .next()
            .ok_or(TokenError::Invalid)?;
        if Utc::now().timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        if claims.token_type != expected {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }

    /// Verifies an access token and returns the owner it names.
    pub fn verify_access(&self, token: &str) -> Result<UserId, TokenError> {
        self.verify_access_grant(token).map(|grant| grant.user_id)
    }

    /// Verifies an access token and returns the owner it names and when it expires, for a
    /// session that must end with its token.
    pub fn verify_access_grant(&self, token: &str) -> Result<AccessGrant, TokenError> {
        let claims = self.verify(token, TokenType::Access)?;
        Ok(AccessGrant {
            user_id: claims.user_id.parse().map_err(|_| TokenError::Invalid)?,
            expires_at: Utc
                .timestamp_opt(claims.exp, 0)
                .single()
                .ok_or(TokenError::Invalid)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(secret: &str, previous: &[&str]) -> KeyRing {
        let previous: Vec<SecretString> = previous
            .iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect();
        KeyRing::new(&SecretString::from(secret.to_owned()), &previous)
    }

    #[test]
    fn a_signed_access_token_verifies_and_names_its_user() {
        let ring = ring("k1", &[]);
        let user = UserId::new_random();
        let token = ring.signer().sign(user, TokenType::Access, 60).unwrap();
        assert_eq!(ring.verifier().verify_access(&token), Ok(user));
    }

    #[test]
    fn an_access_grant_ends_at_the_tokens_expiry() {
        let ring = ring("k1", &[]);
        let user = UserId::new_random();
        let before = Utc::now().timestamp();
        let token = ring.signer().sign(user, TokenType::Access, 90).unwrap();
        let grant = ring.verifier().verify_access_grant(&token).unwrap();
        assert_eq!(grant.user_id, user);
        let lifetime = grant.expires_at.timestamp() - before;
        assert!((90..=91).contains(&lifetime), "{lifetime}");
    }

    #[test]
    fn a_refresh_token_carries_its_family_and_a_new_one_starts_without() {
        let ring = ring("k1", &[]);
        let user = UserId::new_random();
        let root = ring.signer().sign(user, TokenType::Refresh, 60).unwrap();
        let child = ring
            .signer()
            .sign_in_family(user, TokenType::Refresh, 60, Some("f1"))
            .unwrap();
        let verifier = ring.verifier();
        assert_eq!(
            verifier.verify(&root, TokenType::Refresh).unwrap().family,
            None
        );
        assert_eq!(
            verifier
                .verify(&child, TokenType::Refresh)
                .unwrap()
                .family
                .as_deref(),
            Some("f1")
        );
    }

    #[test]
    fn the_wrong_type_is_refused_both_ways() {
        let ring = ring("k1", &[]);
        let user = UserId::new_random();
        let refresh = ring.signer().sign(user, TokenType::Refresh, 60).unwrap();
        let access = ring.signer().sign(user, TokenType::Access, 60).unwrap();
        assert_eq!(
            ring.verifier().verify_access(&refresh),
            Err(TokenError::WrongType)
        );
        assert_eq!(
            ring.verifier().verify(&access, TokenType::Refresh).err(),
            Some(TokenError::WrongType)
        );
    }

    #[test]
    fn expiry_is_exact() {
        let ring = ring("k1", &[]);
        let token = ring
            .signer()
            .sign(UserId::new_random(), TokenType::Access, 0)
            .unwrap();
        assert_eq!(
            ring.verifier().verify_access(&token),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn previous_keys_verify_and_unknown_keys_do_not() {
        let old = ring("old", &[]);
        let token = old
            .signer()
            .sign(UserId::new_random(), TokenType::Access, 60)
            .unwrap();
        assert!(ring("new", &["old"])
            .verifier()
            .verify_access(&token)
            .is_ok());
        assert_eq!(
            ring("new", &[]).verifier().verify_access(&token),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            ring("new", &[]).verifier().verify_access("garbage"),
            Err(TokenError::Invalid)
        );
    }
}
