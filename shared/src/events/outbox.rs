//! The transactional outbox: a change and its event are committed in one transaction; a relay
//! publishes pending events and deletes them only once the broker has stored them. So an event
//! is never lost while NATS is down; it is published when NATS returns, de-duplicated by id.
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
    /// Publishes `events`; an error keeps them pending.
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

/// A service's outbox table.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Claims up to `limit` pending events in commit order, publishes them through `sink` and
    /// deletes them, in one transaction. Returns how many were published.
    async fn drain(&self, limit: i64, sink: &dyn OutboxSink) -> Result<usize, OutboxError>;

    /// How many events are waiting.
    async fn backlog(&self) -> Result<i64, OutboxError>;
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

impl From<OutboxRow> for OutboxEvent {
    fn from(row: OutboxRow) -> Self {
        Self {
            id: row.event_id,
            subject: row.subject,
            payload: Bytes::from(row.payload),
            traceparent: row.traceparent,
            origin: row.origin,
        }
    }
}

/// Inserts events into a Postgres outbox inside the caller's transaction.
pub async fn insert_postgres(
    conn: &mut PgConnection,
    events: &[OutboxEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut query: QueryBuilder<Postgres> =
        QueryBuilder::new("insert into outbox (event_id, subject, payload, traceparent, origin) ");
    query.push_values(events, |mut row, e| {
        row.push_bind(e.id)
            .push_bind(&e.subject)
            .push_bind(e.payload.as_ref())
            .push_bind(&e.traceparent)
            .push_bind(&e.origin);
    });
    query.build().execute(conn).await?;
    Ok(())
}

/// Inserts events into a SQLite outbox inside the caller's transaction.
pub async fn insert_sqlite(
    conn: &mut SqliteConnection,
    events: &[OutboxEvent],
) -> Result<(), sqlx::Error> {
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
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// [`OutboxStore::drain`] for Postgres: `FOR UPDATE SKIP LOCKED` lets every replica relay at
/// once without publishing the same event twice.
pub async fn drain_postgres(
    pool: &PgPool,
    limit: i64,
    sink: &dyn OutboxSink,
) -> Result<usize, OutboxError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
        "select {OUTBOX_COLUMNS} from outbox order by seq limit $1 for update skip locked"
    ))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let events: Vec<OutboxEvent> = rows.into_iter().map(OutboxEvent::from).collect();
    sink.publish(&events).await?;
    sqlx::query("delete from outbox where seq = any($1)")
        .bind(&seqs)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(events.len())
}

/// [`OutboxStore::drain`] for SQLite: one process relays, so a plain read then delete is safe.
pub async fn drain_sqlite(
    pool: &SqlitePool,
    limit: i64,
    sink: &dyn OutboxSink,
) -> Result<usize, OutboxError> {
    let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
        "select {OUTBOX_COLUMNS} from outbox order by seq limit ?"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(0);
    };
    let events: Vec<OutboxEvent> = rows.into_iter().map(OutboxEvent::from).collect();
    sink.publish(&events).await?;
    sqlx::query("delete from outbox where seq <= ?")
        .bind(last)
        .execute(pool)
        .await?;
    Ok(events.len())
}

/// Counts pending events (Postgres).
pub async fn backlog_postgres(pool: &PgPool) -> Result<i64, OutboxError> {
    Ok(sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(pool)
        .await?)
}

/// Counts pending events (SQLite).
pub async fn backlog_sqlite(pool: &SqlitePool) -> Result<i64, OutboxError> {
    Ok(sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(pool)
        .await?)
}

/// The outbox table of a service's Postgres database.
pub struct PostgresOutbox(pub PgPool);

#[async_trait]
impl OutboxStore for PostgresOutbox {
    async fn drain(&self, limit: i64, sink: &dyn OutboxSink) -> Result<usize, OutboxError> {
        drain_postgres(&self.0, limit, sink).await
    }

    async fn backlog(&self) -> Result<i64, OutboxError> {
        backlog_postgres(&self.0).await
    }
}

/// The outbox table of a service's SQLite database.
pub struct SqliteOutbox(pub SqlitePool);

#[async_trait]
impl OutboxStore for SqliteOutbox {
    async fn drain(&self, limit: i64, sink: &dyn OutboxSink) -> Result<usize, OutboxError> {
        drain_sqlite(&self.0, limit, sink).await
    }

    async fn backlog(&self) -> Result<i64, OutboxError> {
        backlog_sqlite(&self.0).await
    }
}

/// Publishes pending events whenever a change is committed (`wake`) and at least every second,
/// backing off while the broker is down.
pub struct Relay {
    service: &'static str,
    store: Arc<dyn OutboxStore>,
    sink: Arc<dyn OutboxSink>,
    wake: Arc<Notify>,
    batch_size: i64,
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
            store,
            sink,
            wake,
            batch_size: 512,
        }
    }

    /// One step: publish one batch. Tests call this directly.
    pub async fn try_publish_batch(&self) -> Result<usize, OutboxError> {
        self.store.drain(self.batch_size, self.sink.as_ref()).await
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
                    crate::metrics::set_outbox_backlog(self.service, n);
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
    }
}
