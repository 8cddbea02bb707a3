//! Argon2id password hashing. Hashing is deliberately slow and memory-hungry (19 MiB at the
//! default cost), so it runs on a pool of dedicated low-priority threads (one per core), never
//! on the async workers that serve token verification; all but one of them hash only while the
//! rest of the server is nearly idle (`spare_threads`). Each pool thread keeps one reusable
//! block of Argon2 memory: the server's memory stays bounded at threads × cost, instead of
//! every thread of a general blocking pool keeping freed 19 MiB chunks in its own allocator
//! arena.

#[cfg(target_os = "linux")]
mod spare_threads;

use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};

use crate::config::Argon2Config;
use crate::error::{Error, Result};
use crate::secrets::random_bytes;

/// Longest password accepted, so nobody can make the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted for new accounts.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Password checks waiting at most; more make requests wait for a place.
const QUEUE_CAPACITY: usize = 1024;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Hashes and verifies passwords with one set of Argon2id parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Arc<Argon2<'static>>,
    jobs: mpsc::Sender<Job>,
    /// A real hash, verified against when the user does not exist so an unknown username costs
    /// the same time as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// Parameters were checked when the configuration loaded; out-of-range ones fall back to
    /// the defaults rather than fail here.
    pub fn new(config: Argon2Config) -> Self {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .unwrap_or_default();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // The dummy hash only has to cost what a real one costs; it guards nothing, since
        // `verify` never reports a match against it.
        let dummy_hash = SaltString::encode_b64(b"portcullis-dummy")
            .ok()
            .and_then(|salt| {
                let hash = argon2.hash_password(b"dummy", &salt).ok()?;
                Some(hash.to_string())
            })
            .unwrap_or_default();
        PasswordHasher {
            argon2: Arc::new(argon2),
            jobs: start_pool(),
            dummy_hash: dummy_hash.into(),
        }
    }

    /// Runs `work` on a pool thread with that thread's Argon2 memory.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let (answer, result) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = answer.send(work(memory));
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| Error::Internal("the password hashing pool has stopped".into()))?;
        result
            .await
            .map_err(|_| Error::Internal("a password hashing job failed".into()))
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        self.run(move |_| hash_with(&argon2, &password)).await?
    }

    /// Checks a password against a stored hash; `None` checks against the dummy hash and
    /// always fails, taking the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let password = password.to_owned();
        let is_real = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let matches = self
            .run(move |memory| verify_with(memory, password.as_bytes(), &hash))
            .await?;
        Ok(is_real && matches)
    }
}

/// One thread per core, sharing a queue of jobs: alone, password checks get the whole
/// machine; beside other work, the spare threads stand aside and the first one's lowest
/// priority (below) leaves the CPU to the async workers that verify tokens. (Measured against
/// one thread fewer, other priorities and every thread always hashing in docs/benchmarks.md.)
fn start_pool() -> mpsc::Sender<Job> {
    let (sender, receiver) = mpsc::channel::<Job>(QUEUE_CAPACITY);
    let receiver = Arc::new(Mutex::new(receiver));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let threads = cores;
    #[cfg(target_os = "linux")]
    let activity = Arc::new(spare_threads::Activity::new(cores));
    for index in 0..threads {
        let receiver = receiver.clone();
        #[cfg(target_os = "linux")]
        let activity = activity.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                yield_to_request_threads();
                #[cfg(target_os = "linux")]
                activity.register_current_thread();
                let mut memory = Vec::new();
                loop {
                    // A spare thread waits for the rest of the server to quieten down before
                    // it takes a job (and so holds the queue only when it may hash).
                    #[cfg(target_os = "linux")]
                    while index > 0 && activity.others_busy() {
                        std::thread::sleep(spare_threads::SAMPLE);
                    }
                    let job = match receiver.lock() {
                        Ok(mut queue) => queue.blocking_recv(),
                        Err(_) => None,
                    };
                    match job {
                        Some(job) => job(&mut memory),
                        None => return,
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start a password hashing thread");
        }
    }
    sender
}

/// Lowers this thread's scheduling priority to the lowest nice level (19): hashing is
/// throughput work, and when the machine is busy the async workers verifying tokens should get
/// the CPU first. Logins still get every cycle the request threads leave idle, and a small
/// share when none are (unlike `SCHED_IDLE`, which starved them).
fn yield_to_request_threads() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority(2) takes plain integers; on Linux, PRIO_PROCESS with a thread id
        // changes only that thread. A failure leaves the default priority, which is harmless.
        let changed =
            unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19) };
        if changed != 0 {
            tracing::debug!("could not lower the password hashing thread's priority");
        }
    }
}

/// Verifies against a PHC string with the parameters stored in it (so raising the configured
/// cost does not lock existing users out), in the thread's reusable memory.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut computed, &mut memory[..blocks])
        .is_ok()
        && bool::from(computed.ct_eq(expected.as_bytes()))
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| Error::Internal(format!("salt: {e}")))?;
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("password hashing: {e}")))
}

/// Checks the rules a new password must meet.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid("password", "must be at least 8 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Argon2Config;

    #[tokio::test]
    async fn hashes_verify_with_their_own_parameters() {
        let cheap = Argon2Config {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(cheap);
        let hash = hasher.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(hasher.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("correct horse", None).await.unwrap());
        assert!(!hasher.verify("x", Some("not a phc string")).await.unwrap());
        // A hash made at another cost still verifies (and grows the thread's memory).
        let costlier = PasswordHasher::new(Argon2Config {
            memory_kib: 4096,
            iterations: 2,
            parallelism: 1,
        });
        let other = costlier.hash("correct horse").await.unwrap();
        assert!(hasher.verify("correct horse", Some(&other)).await.unwrap());
    }
}
