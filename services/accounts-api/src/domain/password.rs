//! `Password` (a secret that is never logged) and the argon2id hasher. Hashing runs on the
//! blocking pool so logins never stall the async workers.

use argon2::{
    password_hash::{
        rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
    },
    Algorithm, Argon2, Params, Version,
};
use secrecy::{ExposeSecret, SecretString};

/// A password as the owner typed it.
pub struct Password(SecretString);

/// Why a password is refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than [`Password::MIN_CHARS`].
    #[error("Ensure this field has at least {} characters.", Password::MIN_CHARS)]
    TooShort,
    /// Longer than [`Password::MAX_CHARS`].
    #[error(
        "Ensure this field has no more than {} characters.",
        Password::MAX_CHARS
    )]
    TooLong,
}

impl Password {
    /// The guide's clients allow short numeric-style passwords; six is the floor they accept.
    pub const MIN_CHARS: usize = 6;
    /// Bounds argon2's input.
    pub const MAX_CHARS: usize = 128;

    /// A password for a new account.
    pub fn parse(raw: String) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// A password presented at login: not checked for policy, only compared.
    pub fn presented(raw: String) -> Self {
        Self(SecretString::from(raw))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// argon2id with configurable cost (OWASP: m=19 MiB, t=2, p=1 by default).
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified when the phone is unknown so that a failed
    /// login takes the same time either way.
    decoy_hash: String,
}

/// Hashing failed (bad parameters or the blocking pool is gone).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHasher {
    /// A hasher with the given argon2id cost.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        let decoy = uuid::Uuid::new_v4().to_string();
        let decoy_hash = hash_with(&params, &decoy)?;
        Ok(Self { params, decoy_hash })
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let params = self.params.clone();
        run_blocking(move || hash_with(&params, password.0.expose_secret())).await?
    }

    /// Checks `password` against `stored`, or against the decoy when there is no account, so
    /// both paths cost one argon2 verification.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.clone());
        let matches = run_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            Argon2::default()
                .verify_password(password.0.expose_secret().as_bytes(), &parsed)
                .is_ok()
        })
        .await?;
        Ok(exists && matches)
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| HashError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_policy() {
        assert_eq!(
            Password::parse("12345".into()).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse("123456".into()).is_ok());
        assert_eq!(
            Password::parse("x".repeat(129)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            format!("{:?}", Password::parse("secret123".into()).unwrap()),
            "Password(***)"
        );
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(1024, 1, 1).unwrap();
        let hash = hasher
            .hash(Password::parse("secret123".into()).unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher
            .verify(Password::presented("secret123".into()), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify(Password::presented("wrong".into()), Some(hash))
            .await
            .unwrap());
        assert!(!hasher
            .verify(Password::presented("secret123".into()), None)
            .await
            .unwrap());
    }
}
