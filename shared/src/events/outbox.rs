//! The transactional outbox: a change and its event are committed in one transaction; a relay
//! publishes pending events and deletes them only once the broker has stored them. So an event
//! is never lost while NATS is down; it is published when NATS returns, de-duplicated by id.
//! An event the broker refuses outright (a full stream, a message over its size) is parked:
//! kept in the table with the reason, counted and logged, and skipped, so it cannot stop the
//! events behind it.
//!
//! Both services keep an `outbox` table of the same shape; the SQL for each backend is here.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, SqliteConnection, SqlitePool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::bus::{BusError, Envelope, EventBus, ORIGIN_HEADER, TRACEPARENT_HEADER};

/// One pending event.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Event id (`Nats-Msg-Id`).
    pub id: Uuid,
    /// Logical subject.
    pub subject: String,
    /// JSON document.
    pub payload: Bytes,
    /// The trace of the change that produced it.
    pub traceparent: Option<String>,
    /// The replica that committed the change (`CarInfo-Origin`); the relaying replica's id
    /// when unset.
    pub origin: Option<String>,
}

impl OutboxEvent {
    /// The envelope to publish, stamped with the committing replica (or `relay` when the event
    /// does not name one).
    pub fn to_envelope(&self, relay: Option<&str>) -> Envelope {
        let mut headers = Vec::with_capacity(2);
        if let Some(tp) = &self.traceparent {
            headers.push((TRACEPARENT_HEADER.to_owned(), tp.clone()));
        }
        if let Some(origin) = self.origin.as_deref().or(relay) {
            headers.push((ORIGIN_HEADER.to_owned(), origin.to_owned()));
        }
        Envelope {
            id: self.id,
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            headers,
        }
    }
}

/// The outbox could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error("outbox storage: {0}")]
    Store(#[from] sqlx::Error),
    /// The broker failed; the events stay pending.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Where pending events are published.
#[async_trait]
pub trait OutboxSink: Send + Sync {
    /// Publishes `events`. [`BusError::Refused`] names the events the broker would not take
    /// (the others are stored); any other error keeps them all pending.
    async fn publish(&self, events: &[OutboxEvent]) -> Result<(), BusError>;
}

/// A bus, stamping each event with the publishing replica.
pub struct BusSink {
    /// The bus.
    pub bus: Arc<dyn EventBus>,
    /// This replica's id (`CarInfo-Origin`).
    pub origin: String,
}

#[async_trait]
impl OutboxSink for BusSink {
    async fn publish(&self, events: &[OutboxEvent]) -> Result<(), BusError> {
        let started = std::time::Instant::now();
        let envelopes: Vec<Envelope> = events
            .iter()
            .map(|e| e.to_envelope(Some(&self.origin)))
            .collect();
        let result = self.bus.publish_batch(&envelopes).await;
        crate::metrics::record_publish(events.len(), started.elapsed(), result.is_ok());
        result
    }
}

/// An event the relay has claimed, with its place in the outbox.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Commit order.
    pub seq: i64,
    /// The event.
    pub event: OutboxEvent,
}

/// A service's outbox table.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Claims up to `limit` pending events in commit order, skipping parked ones and ones
    /// another relay holds. No transaction stays open after it returns.
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>, OutboxError>;

    /// Deletes published events.
    async fn complete(&self, seqs: &[i64]) -> Result<(), OutboxError>;

    /// Parks events the broker refused, with its reason: kept, and skipped from now on.
    async fn park(&self, refused: &[(i64, String)]) -> Result<(), OutboxError>;

    /// Gives claimed events back after a publish that did not happen.
    async fn release(&self, seqs: &[i64]) -> Result<(), OutboxError>;

    /// How many events are waiting (parked ones excluded).
    async fn backlog(&self) -> Result<i64, OutboxError>;

    /// The relay stops: whatever it holds is handed back.
    async fn close(&self) -> Result<(), OutboxError> {
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    seq: i64,
    event_id: Uuid,
    subject: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
    origin: Option<String>,
}

const OUTBOX_COLUMNS: &str = "seq, event_id, subject, payload, traceparent, origin";

impl From<OutboxRow> for Claimed {
    fn from(row: OutboxRow) -> Self {
        Self {
            seq: row.seq,
            event: OutboxEvent {
                id: row.event_id,
                subject: row.subject,
                payload: Bytes::from(row.payload),
                traceparent: row.traceparent,
                origin: row.origin,
            },
        }
    }
}

/// Inserts events into the outbox inside the caller's transaction: `tx.insert_outbox(..)` on
/// either backend's transaction, so the event commits with the change it describes.
#[async_trait]
pub trait InsertOutbox {
    /// Queues `events` for the relay.
    async fn insert_outbox(&mut self, events: &[OutboxEvent]) -> Result<(), sqlx::Error>;
}

#[async_trait]
impl InsertOutbox for PgConnection {
    async fn insert_outbox(&mut self, events: &[OutboxEvent]) -> Result<(), sqlx::Error> {
        if events.is_empty() {
            return Ok(());
        }
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
            "insert into outbox (event_id, subject, payload, traceparent, origin) ",
        );
        query.push_values(events, |mut row, e| {
            row.push_bind(e.id)
                .push_bind(&e.subject)
                .push_bind(e.payload.as_ref())
                .push_bind(&e.traceparent)
                .push_bind(&e.origin);
        });
        query.build().execute(self).await?;
        Ok(())
    }
}

#[async_trait]
impl InsertOutbox for SqliteConnection {
    async fn insert_outbox(&mut self, events: &[OutboxEvent]) -> Result<(), sqlx::Error> {
        let now = crate::time::to_micros(&crate::time::now());
        for e in events {
            sqlx::query(
                "insert into outbox (event_id, subject, payload, traceparent, origin, created_at, updated_at) \
                 values (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(e.id)
            .bind(&e.subject)
            .bind(e.payload.as_ref())
            .bind(&e.traceparent)
            .bind(&e.origin)
            .bind(now)
            .bind(now)
            .execute(&mut *self)
            .await?;
        }
        Ok(())
    }
}

/// How long a claim keeps other relays away. Shorter than JetStream's duplicate window
/// (120 s), so an event re-published after a relay died mid-publish is still de-duplicated.
const LEASE_SECS: f64 = 30.0;

/// The outbox table of a service's Postgres database. Every replica relays at once: a claim
/// is one statement (`FOR UPDATE SKIP LOCKED` inside, a lease outside), so no transaction is
/// open while the broker is asked, and a relay that dies mid-publish leaves a lease that runs
/// out.
pub struct PostgresOutbox(pub PgPool);

#[async_trait]
impl OutboxStore for PostgresOutbox {
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>, OutboxError> {
        let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
            "update outbox set claimed_until = now() + make_interval(secs => $2) \
             where seq in (select seq from outbox \
                 where parked_at is null and (claimed_until is null or claimed_until < now()) \
                 order by seq limit $1 for update skip locked) \
             returning {OUTBOX_COLUMNS}"
        ))
        .bind(limit)
        .bind(LEASE_SECS)
        .fetch_all(&self.0)
        .await?;
        let mut claimed: Vec<Claimed> = rows.into_iter().map(Claimed::from).collect();
        claimed.sort_by_key(|c| c.seq);
        Ok(claimed)
    }

    async fn complete(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        sqlx::query("delete from outbox where seq = any($1)")
            .bind(seqs)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn park(&self, refused: &[(i64, String)]) -> Result<(), OutboxError> {
        let (seqs, reasons): (Vec<i64>, Vec<&str>) = refused
            .iter()
            .map(|(seq, why)| (*seq, why.as_str()))
            .unzip();
        sqlx::query(
            "update outbox set parked_at = now(), parked_reason = v.reason, claimed_until = null \
             from unnest($1::bigint[], $2::text[]) as v(seq, reason) where outbox.seq = v.seq",
        )
        .bind(&seqs)
        .bind(&reasons)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn release(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        sqlx::query("update outbox set claimed_until = null where seq = any($1)")
            .bind(seqs)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn backlog(&self) -> Result<i64, OutboxError> {
        Ok(
            sqlx::query_scalar("select count(*) from outbox where parked_at is null")
                .fetch_one(&self.0)
                .await?,
        )
    }
}

/// The outbox table of a service's SQLite database. One process relays, so a claim is a
/// plain read.
pub struct SqliteOutbox(pub SqlitePool);

#[async_trait]
impl OutboxStore for SqliteOutbox {
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>, OutboxError> {
        let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
            "select {OUTBOX_COLUMNS} from outbox where parked_at is null order by seq limit ?"
        ))
        .bind(limit)
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(Claimed::from).collect())
    }

    async fn complete(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let mut query: QueryBuilder<sqlx::Sqlite> =
            QueryBuilder::new("delete from outbox where seq in (");
        let mut list = query.separated(", ");
        for seq in seqs {
            list.push_bind(*seq);
        }
        list.push_unseparated(")");
        query.build().execute(&self.0).await?;
        Ok(())
    }

    async fn park(&self, refused: &[(i64, String)]) -> Result<(), OutboxError> {
        let now = crate::time::to_micros(&crate::time::now());
        for (seq, reason) in refused {
            sqlx::query("update outbox set parked_at = ?, parked_reason = ? where seq = ?")
                .bind(now)
                .bind(reason)
                .bind(seq)
                .execute(&self.0)
                .await?;
        }
        Ok(())
    }

    async fn release(&self, _seqs: &[i64]) -> Result<(), OutboxError> {
        Ok(())
    }

    async fn backlog(&self) -> Result<i64, OutboxError> {
        Ok(
            sqlx::query_scalar("select count(*) from outbox where parked_at is null")
                .fetch_one(&self.0)
                .await?,
        )
    }
}

/// Publishes pending events whenever a change is committed (`wake`) and at least every second,
/// backing off while the broker is down.
pub struct Relay {
    service: &'static str,
    /// The table it reads, for the backlog gauge.
    outbox: &'static str,
    store: Arc<dyn OutboxStore>,
    sink: Arc<dyn OutboxSink>,
    wake: Arc<Notify>,
    batch_size: i64,
    /// Least time between two passes while every pass empties the table.
    pace: Duration,
}

impl Relay {
    /// A relay over `service`'s `store`, publishing into `sink`.
    pub fn new(
        service: &'static str,
        store: Arc<dyn OutboxStore>,
        sink: Arc<dyn OutboxSink>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            service,
            outbox: "outbox",
            store,
            sink,
            wake,
            batch_size: 512,
            pace: Duration::ZERO,
        }
    }

    /// The same relay, making at most one pass per `pace` while it keeps up: commits that
    /// come in between are published together, in one query and one round of
    /// acknowledgements, instead of one pass each.
    pub fn paced(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// The same relay, reporting its backlog as `outbox` (when a service has more than one).
    pub fn reading(mut self, outbox: &'static str) -> Self {
        self.outbox = outbox;
        self
    }

    /// One step: claim a batch, publish it, delete what the broker stored and park what it
    /// refused. Returns how many events were claimed. Tests call this directly.
    pub async fn try_publish_batch(&self) -> Result<usize, OutboxError> {
        let claimed = self.store.claim(self.batch_size).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let seqs: Vec<i64> = claimed.iter().map(|c| c.seq).collect();
        let events: Vec<OutboxEvent> = claimed.iter().map(|c| c.event.clone()).collect();
        match self.sink.publish(&events).await {
            Ok(()) => self.store.complete(&seqs).await?,
            // The broker stored the others; holding the refused ones back would stop every
            // later event behind them, so they are parked (kept, skipped) and the rest go on.
            Err(BusError::Refused(refusals)) => {
                let mut parked = Vec::with_capacity(refusals.len());
                for (index, reason) in refusals {
                    let Some(c) = claimed.get(index) else {
                        continue;
                    };
                    tracing::error!(
                        event.id = %c.event.id,
                        messaging.destination.name = %c.event.subject,
                        reason = %reason,
                        "broker refused an event; parked in the outbox"
                    );
                    parked.push((c.seq, reason));
                }
                metrics::counter!("outbox_events_parked_total", "service" => self.service)
                    .increment(parked.len() as u64);
                self.store.park(&parked).await?;
                let published: Vec<i64> = seqs
                    .iter()
                    .copied()
                    .filter(|seq| !parked.iter().any(|(p, _)| p == seq))
                    .collect();
                self.store.complete(&published).await?;
            }
            Err(e) => {
                if let Err(release) = self.store.release(&seqs).await {
                    tracing::debug!(error = %release, "claimed events left to their lease");
                }
                return Err(e.into());
            }
        }
        Ok(claimed.len())
    }

    /// Publishes until every pending event is out (or an error stops it).
    pub async fn publish_all(&self) -> Result<usize, OutboxError> {
        let mut total = 0;
        loop {
            let n = self.try_publish_batch().await?;
            total += n;
            if n < usize::try_from(self.batch_size).unwrap_or(usize::MAX) {
                return Ok(total);
            }
        }
    }

    /// Runs until `stop` is cancelled, then makes one last attempt.
    pub async fn run_until_stopped(self, stop: CancellationToken) {
        let mut last_count = std::time::Instant::now() - Duration::from_secs(1);
        let mut backoff = Duration::from_millis(50);
        loop {
            let healthy = match self.publish_all().await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay could not publish; will retry");
                    false
                }
            };
            // While the broker is down, retry on a backoff rather than on every commit.
            let wait = if healthy {
                backoff = Duration::from_millis(50);
                Duration::from_secs(1)
            } else {
                backoff = (backoff * 2).min(Duration::from_secs(2));
                backoff
            };
            // Counting the backlog is a table scan: at most once a second, not once a commit.
            if last_count.elapsed() >= Duration::from_secs(1) {
                last_count = std::time::Instant::now();
                if let Ok(n) = self.store.backlog().await {
                    crate::metrics::set_outbox_backlog(self.service, self.outbox, n);
                }
            }
            if healthy && !self.pace.is_zero() {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(self.pace) => {}
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified(), if healthy => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        if let Err(e) = self.publish_all().await {
            tracing::warn!(error = %e, "events left in the outbox at shutdown; published on next start");
        }
        if let Err(e) = self.store.close().await {
            tracing::warn!(error = %e, "outbox not handed back at shutdown");
        }
    }
}
