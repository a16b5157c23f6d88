//! Group commit: messages arriving together are written in one transaction, then fanned out
//! (other replicas, then local sockets) and each sender is told. "Committed before anyone sees it"
//! holds for every message, and the database does one commit per batch instead of one per
//! message.
//!
//! Messages are sharded by room over a few writers, so one room's messages keep their order
//! and several batches can be in flight on Postgres.
//!
//! At shutdown [`MessageWriter::drain`] stops taking messages and commits those already
//! handed over before the writers end: a message accepted before the signal is not dropped
//! with the process (see `crate::shutdown`).

use std::{
    hash::{Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    fanout::Fanout,
    store::{ChatStore, Committed, PendingMessage, StoreError},
};

/// Most messages in one transaction.
const MAX_BATCH: usize = 512;

struct Job {
    pending: PendingMessage,
    done: oneshot::Sender<Result<Committed, StoreError>>,
}

/// The handle sessions commit through.
#[derive(Clone)]
pub struct MessageWriter {
    shards: Arc<Vec<mpsc::Sender<Job>>>,
    closing: CancellationToken,
    tasks: TaskTracker,
}

impl MessageWriter {
    /// Starts `shards` writer tasks over `store`, fanning out through `fanout`.
    pub fn spawn(store: Arc<dyn ChatStore>, fanout: Arc<Fanout>, shards: usize) -> Self {
        let closing = CancellationToken::new();
        let tasks = TaskTracker::new();
        let senders = (0..shards.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(MAX_BATCH * 4);
                tasks.spawn(run_writer(
                    store.clone(),
                    fanout.clone(),
                    receiver,
                    closing.clone(),
                ));
                sender
            })
            .collect();
        tasks.close();
        Self {
            shards: Arc::new(senders),
            closing,
            tasks,
        }
    }

    /// Stops taking messages (a later [`Self::commit`] fails, so its sender is told it was not
    /// saved) and waits until every message already handed over is committed or refused.
    /// `false` when `within` passed first.
    pub async fn drain(&self, within: Duration) -> bool {
        self.closing.cancel();
        tokio::time::timeout(within, self.tasks.wait())
            .await
            .is_ok()
    }

    /// Commits one message, then delivers it to the room; returns once it is durable and
    /// queued for the room's sockets, with what the store made of it (a message whose client
    /// id the room already holds is not stored again).
    pub async fn commit(&self, pending: PendingMessage) -> Result<Committed, StoreError> {
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
    fanout: Arc<Fanout>,
    mut receiver: mpsc::Receiver<Job>,
    closing: CancellationToken,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut senders = Vec::with_capacity(MAX_BATCH);
    let mut closed = false;
    loop {
        let received = tokio::select! {
            received = receiver.recv_many(&mut jobs, MAX_BATCH) => received,
            () = closing.cancelled(), if !closed => {
                // New sends fail from here on; what is queued is still received, then
                // `recv_many` returns 0 and the writer ends.
                receiver.close();
                closed = true;
                continue;
            }
        };
        if received == 0 {
            break;
        }
        for job in jobs.drain(..) {
            batch.push(job.pending);
            senders.push(job.done);
        }
        let started = std::time::Instant::now();
        let outcome = store.insert_messages(&batch).await;
        metrics::histogram!("chat_commit_duration_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("chat_commit_batch_size").record(batch.len() as f64);
        match outcome {
            Ok(committed) => {
                let started = std::time::Instant::now();
                fanout.committed(&batch, &committed).await;
                metrics::histogram!("chat_fanout_duration_seconds")
                    .record(started.elapsed().as_secs_f64());
                for (done, message) in senders.drain(..).zip(committed.messages) {
                    let _ = done.send(Ok(message));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = batch.len(), "message batch not committed");
                let unavailable = matches!(e, StoreError::Unavailable(_));
                for done in senders.drain(..) {
                    let err = if unavailable {
                        StoreError::Unavailable(sqlx::Error::PoolTimedOut)
                    } else {
                        StoreError::Other(sqlx::Error::Protocol("batch failed".into()))
                    };
                    let _ = done.send(Err(err));
                }
            }
        }
        batch.clear();
        // A sender whose message has no outcome (never, short of a store bug) hears it failed.
        senders.clear();
    }
}
