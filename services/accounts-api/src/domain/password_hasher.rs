//! The argon2id hasher. Hashes run on `ARGON2_MAX_CONCURRENT` dedicated threads, so logins never
//! stall the async workers, and each thread owns one reusable block buffer of
//! `ARGON2_MEMORY_KIB`: hashing memory is exactly threads × memory cost, allocated once, with no
//! allocator churn that could keep freed hashes resident. `ARGON2_MAX_QUEUED` more hashes wait
//! in a queue; beyond it the hasher answers [`HashError::Busy`] at once (429 for the client)
//! rather than let requests pile up.

use std::sync::{Arc, Mutex};

use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::{
    mpsc::{self, error::TrySendError},
    oneshot,
};

use super::Password;

/// argon2id with configurable cost (OWASP: m=19 MiB, t=2, p=1 by default).
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password, verified when the phone is unknown so that a failed
    /// login takes the same time either way.
    decoy_hash: Arc<str>,
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
    /// Bad parameters or the hashing threads are gone.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// A fixed set of threads that run hashes, fed by a short queue. Fixed threads with their own
/// buffers rather than tokio's blocking pool: there, each hash allocated its 19 MiB afresh on
/// whichever thread ran it, and the allocator kept freed buffers resident per thread.
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
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        let job = match receiver.lock() {
                            Ok(mut jobs) => jobs.blocking_recv(),
                            Err(_) => None,
                        };
                        match job {
                            Some(job) => job(&mut blocks),
                            None => break,
                        }
                    }
                })
                .map_err(|e| HashError::Failed(e.to_string()))?;
        }
        Ok(Self { queue })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |blocks| {
            let _ = done.send(span.in_scope(|| f(blocks)));
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
        let decoy_hash = hash_into(&mut Vec::new(), &params, decoy.as_bytes())?;
        Ok(Self {
            params,
            decoy_hash: Arc::from(decoy_hash),
            pool: Arc::new(HashingPool::start(bounds)?),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let params = self.params.clone();
        self.pool
            .run(move |blocks| hash_into(blocks, &params, password.expose()))
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
        let hash = stored.map_or_else(|| self.decoy_hash.clone(), Arc::from);
        let matches = self
            .pool
            .run(move |blocks| verify_into(blocks, &hash, password.expose()))
            .await?;
        Ok(exists && matches)
    }
}

/// argon2id of `password` with a fresh salt, in `blocks` (grown to the cost if needed).
fn hash_into(
    blocks: &mut Vec<Block>,
    params: &Params,
    password: &[u8],
) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    blocks.resize(params.block_count(), Block::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt_bytes, &mut out, &mut blocks[..])
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored`, whatever cost it was made with.
fn verify_into(blocks: &mut Vec<Block>, stored: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    blocks.resize(params.block_count(), Block::default());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt_bytes, &mut out, &mut blocks[..])
        .is_ok()
        // `Output`'s equality is constant-time.
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn hasher() -> PasswordHasher {
        let bounds = HashingBounds {
            concurrent: 1,
            queued: 1,
        };
        PasswordHasher::new(1024, 1, 1, bounds).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = hasher();
        let hash = hasher
            .hash(Password::parse("secret123".into()).unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
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

    #[tokio::test]
    async fn hashes_agree_with_the_reference_implementation_both_ways() {
        let hasher = hasher();
        let ours = hasher
            .hash(Password::parse("secret123".into()).unwrap())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"secret123", &parsed)
            .is_ok());
        // A hash made elsewhere with other costs (an older setting) still verifies.
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::new(2048, 2, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"p4ssw0rd!", &salt)
            .unwrap()
            .to_string();
        assert!(hasher
            .verify(
                Password::presented("p4ssw0rd!".into()),
                Some(theirs.clone())
            )
            .await
            .unwrap());
        assert!(!hasher
            .verify(Password::presented("p4ssw0rd?".into()), Some(theirs))
            .await
            .unwrap());
    }
}
