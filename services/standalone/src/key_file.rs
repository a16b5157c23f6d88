//! A key the embedded default keeps in its data directory: created on first start (mode
//! 0600), read back on every start after, so what was issued with it stays valid.

use std::{io::Write, path::Path};

use anyhow::Context;
use secrecy::SecretString;

/// Reads the key in `data_dir/file`, creating it with `generate` if absent or empty.
pub fn load_or_create(
    data_dir: &Path,
    file: &str,
    generate: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<SecretString> {
    let path = data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(SecretString::from(existing.to_owned()));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key = generate()?;
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
