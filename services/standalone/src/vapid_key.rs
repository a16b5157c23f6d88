//! The embedded default's VAPID key: created on first start, kept in the data directory
//! (mode 0600) as `VAPID_PRIVATE_KEY` takes it, reused across restarts, because browsers
//! subscribed with its public half and a new key would silently orphan their subscriptions.

use std::path::Path;

use secrecy::SecretString;

/// File name inside the data directory.
pub const FILE: &str = "vapid_private_key";

/// Reads the key from `data_dir`, creating it if absent.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SecretString> {
    crate::key_file::load_or_create(data_dir, FILE, || {
        Ok(notifier::push::VapidKey::generate()?.to_base64url())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_key_is_created_once_and_reused() {
        let dir =
            std::env::temp_dir().join(format!("carinfo-vapid-{}", uuid::Uuid::new_v4().simple()));
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert!(notifier::push::VapidKey::from_setting(first.expose_secret()).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
