//! `Password` (a secret that is never logged) and the argon2id hasher. Hashing runs on
//! `ARGON2_MAX_CONCURRENT` dedicated threads so logins never stall the async workers: each hash
//! holds `ARGON2_MEMORY_KIB` of memory while it runs, so the number of hashing threads is the
//! bound on that memory. `ARGON2_MAX_QUEUED` more wait in a queue; beyond it the hasher answers
//! [`HashError::Busy`] at once (429 for the client) rather than let requests pile up.

use argon2::{
    password_hash::{
        rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
    },
    Algorithm, Argon2, Params, Version,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};
use tokio::sync::{
    mpsc::{self, error::TrySendError},
    oneshot,
};

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
    pool: Arc<HashingPool>,
}

/// How many hashes may run and wait at once; each running hash holds its memory cost.
#[derive(Debug, Clone, Copy)]
pub struct HashingBounds {
    /// Hashes running at once.
    pub concurrent: usize,
    /// Hashes waiting for a turn.
    pub queued: usize,
}

/// Why hashing did not happen.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the queue is full: try again soon.
    #[error("password hashers busy")]
    Busy,
    /// Bad parameters or the blocking pool is gone.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that run hashes, fed by a short queue. Fixed threads rather than
/// tokio's blocking pool: the allocator keeps an arena per thread, and the blocking pool
/// replaces idle threads, so each new one could keep another hash's worth of memory.
struct HashingPool {
    queue: mpsc::Sender<Job>,
}

impl HashingPool {
    fn start(bounds: HashingBounds) -> Result<Self, HashError> {
        let (queue, receiver) = mpsc::channel::<Job>(bounds.queued.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..bounds.concurrent.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match receiver.lock() {
                        Ok(mut jobs) => jobs.blocking_recv(),
                        Err(_) => None,
                    };
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                })
                .map_err(|e| HashError::Failed(e.to_string()))?;
        }
        Ok(Self { queue })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let _ = done.send(span.in_scope(f));
        });
        self.queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                metrics::counter!("password_hashing_refused_total").increment(1);
                HashError::Busy
            }
            TrySendError::Closed(_) => HashError::Failed("hashing threads stopped".into()),
        })?;
        result
            .await
            .map_err(|_| HashError::Failed("hashing thread ended".into()))
    }
}

impl PasswordHasher {
    /// A hasher with the given argon2id cost and bounds.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        bounds: HashingBounds,
    ) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashError::Failed(e.to_string()))?;
        let decoy = uuid::Uuid::new_v4().to_string();
        let decoy_hash = hash_with(&params, &decoy)?;
        Ok(Self {
            params,
            decoy_hash,
            pool: Arc::new(HashingPool::start(bounds)?),
        })
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let params = self.params.clone();
        self.pool
            .run(move || hash_with(&params, password.0.expose_secret()))
            .await?
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
        let matches = self
            .pool
            .run(move || {
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
        .map_err(|e| HashError::Failed(e.to_string()))
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
        let bounds = HashingBounds {
            concurrent: 1,
            queued: 1,
        };
        let hasher = PasswordHasher::new(1024, 1, 1, bounds).unwrap();
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
