//! What the owner controls: a room's state (closed, blocked), who may not open a new room
//! (a blocked visitor's browser and address), and whether the sticker takes new rooms at all.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use shared::http::ClientKey;

/// What the owner does to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomControl {
    /// No more visitor messages.
    Close,
    /// Visitor messages again (not for a blocked room).
    Reopen,
    /// Close, and refuse new rooms from the same visitor for a while.
    Block,
    /// Lift the block and reopen.
    Unblock,
}

/// The random key a visitor's browser keeps and sends when it starts a chat: 1 to 100
/// characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorKey(String);

impl VisitorKey {
    /// Longest key.
    pub const MAX_CHARS: usize = 100;

    /// The key, if `raw` is one.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_CHARS
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(raw.to_owned()))
    }
}

/// How a visitor is recognised when the owner blocks them: keyed hashes of the browser's
/// visitor key and of the client address (IPv6: its /64), so the database holds neither, and
/// a hash cannot be reversed by trying every address without the service's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorMarks {
    /// `key:<hash>`, when the browser sent a key.
    pub key: Option<String>,
    /// `address:<hash>`.
    pub address: String,
}

impl VisitorMarks {
    /// The marks of a visitor with `key` at `client`, keyed with `secret`.
    pub fn of(key: Option<&VisitorKey>, client: ClientKey, secret: &[u8]) -> Self {
        let hash = |kind: &str, value: &str| {
            let mut digest = Sha256::new();
            digest.update(secret);
            digest.update(kind.as_bytes());
            digest.update(value.as_bytes());
            format!("{kind}:{}", hex::encode(digest.finalize()))
        };
        Self {
            key: key.map(|k| hash("key", &k.0)),
            address: hash("address", &client.to_string()),
        }
    }

    /// Every mark, for a look-up.
    pub fn all(&self) -> Vec<String> {
        self.key
            .iter()
            .cloned()
            .chain(std::iter::once(self.address.clone()))
            .collect()
    }
}

/// An owner's chat settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerSettings {
    /// `false` while the owner has paused the sticker: chat start refuses new rooms.
    pub accepting_messages: bool,
    /// No push notifications before this time.
    pub quiet_until: Option<DateTime<Utc>>,
}

impl Default for OwnerSettings {
    fn default() -> Self {
        Self {
            accepting_messages: true,
            quiet_until: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_key_is_short_and_plain() {
        assert!(VisitorKey::parse("3b1f6c2e-9a47_4d0b").is_some());
        assert!(VisitorKey::parse("").is_none());
        assert!(VisitorKey::parse("a b").is_none());
        assert!(VisitorKey::parse(&"k".repeat(101)).is_none());
    }

    #[test]
    fn marks_depend_on_the_secret_and_never_show_the_address() {
        let client = ClientKey::from(std::net::IpAddr::from([192, 0, 2, 7]));
        let key = VisitorKey::parse("abc");
        let one = VisitorMarks::of(key.as_ref(), client, b"one");
        let two = VisitorMarks::of(key.as_ref(), client, b"two");
        assert_ne!(one, two);
        assert!(!one.address.contains("192.0.2.7"));
        assert_eq!(one.all().len(), 2);
    }
}
