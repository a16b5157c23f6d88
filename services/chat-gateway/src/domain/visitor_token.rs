//! `VisitorToken`: the visitor's only credential. Random, shown once, stored only as a
//! SHA-256 hash (it is high-entropy, so a fast hash is enough and lookups stay cheap).

use sha2::{Digest, Sha256};

/// A token as handed to the visitor.
#[derive(Clone, PartialEq, Eq)]
pub struct VisitorToken(String);

/// What the database keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorTokenHash(pub String);

impl VisitorToken {
    /// A fresh token: a random UUID, the guide's format.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// A token presented by a client; `None` when it cannot be one.
    pub fn presented(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (!raw.is_empty() && raw.len() <= 128).then(|| Self(raw.to_owned()))
    }

    /// Its hash.
    pub fn hash(&self) -> VisitorTokenHash {
        VisitorTokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }

    /// The token itself, to return once from `/api/chat/start/`.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for VisitorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = VisitorToken::generate();
        let b = VisitorToken::generate();
        assert_ne!(a, b);
        assert_eq!(
            VisitorToken::presented(a.reveal()).unwrap().hash(),
            a.hash()
        );
        assert_ne!(a.hash(), b.hash());
        assert!(VisitorToken::presented("").is_none());
        assert_eq!(format!("{a:?}"), "VisitorToken(***)");
    }
}
