//! A browser's side of a subscription, and opening what the push service received with
//! implementations that are not ours: `tests/interop/open_push.py` (PyPI's `http_ece` and
//! `cryptography`, pinned with hashes in `tests/interop/requirements.txt`), installed into a
//! venv under the target directory on first use. A missing Python or registry fails the
//! test; nothing is skipped.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use serde_json::{json, Value};

use super::Received;

const REQUIREMENTS: &str = include_str!("../../interop/requirements.txt");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/open_push.py");

/// A browser's subscription: the endpoint and the key pair and secret only it knows.
pub struct Subscriber {
    /// Where its push service receives.
    pub endpoint: String,
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Subscriber {
    /// A fresh key pair and auth secret for `endpoint`, as `pushManager.subscribe` makes.
    pub fn new(endpoint: String) -> Self {
        let mut auth = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut auth);
        Self {
            endpoint,
            secret: p256::SecretKey::random(&mut rand::rngs::OsRng),
            auth,
        }
    }

    /// `PushSubscription.toJSON()`.
    pub fn body(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false)),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
        })
    }
}

/// What opening a request showed.
#[derive(Debug)]
pub struct Opened {
    /// The decrypted payload.
    pub payload: Value,
    /// The VAPID token's claims (already checked: signature, `aud`, `exp`, `sub`).
    pub claims: Value,
}

/// Checks the request's VAPID header against `vapid_public_key` and `audience` and decrypts
/// its body as `subscriber`, with the independent implementation. Panics with its reason when
/// either fails.
pub fn open(
    received: &Received,
    subscriber: &Subscriber,
    vapid_public_key: &str,
    audience: &str,
) -> Opened {
    let input = json!({
        "body": STANDARD.encode(&received.body),
        "content_encoding": received.header("content-encoding").unwrap_or_default(),
        "authorization": received.header("authorization").unwrap_or_default(),
        "ua_private_key": URL_SAFE_NO_PAD.encode(subscriber.secret.to_bytes()),
        "auth_secret": URL_SAFE_NO_PAD.encode(subscriber.auth),
        "vapid_public_key": vapid_public_key,
        "audience": audience,
    });
    let mut child = Command::new(python())
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the interop venv's python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("input written");
    let output = child.wait_with_output().expect("python finishes");
    assert!(
        output.status.success(),
        "the independent implementation refused the push request: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let opened: Value = serde_json::from_slice(&output.stdout).expect("JSON from open_push.py");
    Opened {
        payload: opened["payload"].clone(),
        claims: opened["claims"].clone(),
    }
}

/// Installs Python with venv from Debian when it is missing (deploy/ensure-backends.sh does).
fn install_python() {
    let ready = Command::new("python3")
        .args(["-c", "import ensurepip, venv"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/ensure-backends.sh"
        );
        let status = Command::new("bash").arg(script).status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "could not install Python with {script}: {status:?}"
        );
    }
}

/// The venv's interpreter, installing the pinned requirements on first use. Test processes
/// run in parallel: each installs into a directory of its own and renames it into place;
/// the first rename wins and the others use it.
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let stamp = {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                REQUIREMENTS.hash(&mut hasher);
                hasher.finish()
            };
            let venv =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("notifier-interop-{stamp:x}"));
            let python = venv.join("bin/python");
            if venv.join(".installed").exists() {
                return python;
            }
            install_python();
            let staging = venv.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
            let status = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&staging)
                .status()
                .expect("python3 runs (it creates the interop venv)");
            assert!(status.success(), "python3 -m venv failed");
            let requirements = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/interop/requirements.txt"
            );
            let output = Command::new(staging.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--require-hashes", "-r", requirements])
                .output()
                .expect("pip runs");
            assert!(
                output.status.success(),
                "installing the interop requirements from PyPI failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::fs::write(staging.join(".installed"), REQUIREMENTS).expect("stamp written");
            if std::fs::rename(&staging, &venv).is_err() {
                // Another test process got there first.
                let _ = std::fs::remove_dir_all(&staging);
            }
            assert!(
                venv.join(".installed").exists(),
                "no interop venv at {}",
                venv.display()
            );
            python
        })
        .clone()
}
