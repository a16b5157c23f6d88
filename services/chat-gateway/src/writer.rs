//! Group commit: messages arriving together are written in one transaction, then each sender
//! is told. "Committed before anyone sees it" holds for every message, and the database does
//! one commit per batch instead of one per message.
//!
//! Messages are sharded by room over a few writers, so one room's messages keep their order
//! and several batches can be in flight on Postgres.

use std::{
    hash::{Hash, Hasher},
    sync::Arc,
};

use tokio::sync::{mpsc, oneshot, Notify};

use crate::store::{ChatStore, PendingMessage, StoreError};

/// Most messages in one transaction.
const MAX_BATCH: usize = 512;

struct Job {
    pending: PendingMessage,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle sessions commit through.
#[derive(Clone)]
pub struct MessageWriter {
    shards: Arc<Vec<mpsc::Sender<Job>>>,
}

impl MessageWriter {
    /// Starts `shards` writer tasks over `store`; `wake` is notified after each commit so the
    /// outbox relay publishes at once.
    pub fn spawn(store: Arc<dyn ChatStore>, wake: Arc<Notify>, shards: usize) -> Self {
        let senders = (0..shards.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(MAX_BATCH * 4);
                tokio::spawn(run_writer(store.clone(), wake.clone(), receiver));
                sender
            })
            .collect();
        Self {
            shards: Arc::new(senders),
        }
    }

    /// Commits one message; returns once it is durable.
    pub async fn commit(&self, pending: PendingMessage) -> Result<(), StoreError> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        pending.message.room_id.0.hash(&mut hasher);
        let shard = (hasher.finish() % self.shards.len() as u64) as usize;
        let (done, result) = oneshot::channel();
        let closed = || StoreError::Other(sqlx::Error::WorkerCrashed);
        self.shards[shard]
            .send(Job { pending, done })
            .await
            .map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }
}

async fn run_writer(
    store: Arc<dyn ChatStore>,
    wake: Arc<Notify>,
    mut receiver: mpsc::Receiver<Job>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch: Vec<PendingMessage> = jobs.iter().map(|j| j.pending.clone()).collect();
        let started = std::time::Instant::now();
        let outcome = store.insert_messages(&batch).await;
        metrics::histogram!("chat_commit_duration_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("chat_commit_batch_size").record(batch.len() as f64);
        match outcome {
            Ok(()) => {
                wake.notify_one();
                for job in jobs.drain(..) {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = batch.len(), "message batch not committed");
                let unavailable = matches!(e, StoreError::Unavailable(_));
                for job in jobs.drain(..) {
                    let err = if unavailable {
                        StoreError::Unavailable(sqlx::Error::PoolTimedOut)
                    } else {
                        StoreError::Other(sqlx::Error::Protocol("batch failed".into()))
                    };
                    let _ = job.done.send(Err(err));
                }
            }
        }
    }
}
