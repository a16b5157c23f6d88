//! The embedded default's VAPID key: created on first start, kept in the data directory
//! (mode 0600) as `VAPID_PRIVATE_KEY` takes it, reused across restarts, because browsers
//! subscribed with its public half and a new key would silently orphan their subscriptions.

use std::{io::Write, path::Path};

use anyhow::Context;
use secrecy::SecretString;

/// File name inside the data directory.
pub const FILE: &str = "vapid_private_key";

/// Reads the key from `data_dir`, creating it if absent.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join(FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(SecretString::from(existing.to_owned()));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key = notifier::push::VapidKey::generate()?.to_base64url();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key.as_bytes())?;
    Ok(SecretString::from(key))
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
