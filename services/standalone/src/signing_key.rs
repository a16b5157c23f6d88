//! The embedded default's signing key: created on first start, kept in the data directory
//! (mode 0600), reused across restarts so issued tokens stay valid.

use std::path::Path;

use rand::RngCore;
use secrecy::SecretString;

/// File name inside the data directory.
pub const FILE: &str = "jwt_secret";

/// Reads the key from `data_dir`, creating it if absent.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SecretString> {
    crate::key_file::load_or_create(data_dir, FILE, || {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Ok(hex::encode(bytes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_key_is_created_once_and_reused() {
        let dir =
            std::env::temp_dir().join(format!("carinfo-key-{}", uuid::Uuid::new_v4().simple()));
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 64);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
