//! `Password`: a secret that is never logged, checked against the registration policy. Hashing
//! it is [`super::password_hasher`]'s job.

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

    /// The bytes argon2 hashes.
    pub(super) fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
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
}
