//! The messages table as the log the relay publishes `chat.rooms.<id>.messages` from: a message
//! is written once, and the relay ([`shared::events::outbox::Relay`], over this store) follows
//! the table with a cursor instead of claiming and deleting outbox rows.
//!
//! - **Order.** A row's place is `(tx_id, seq)`: its transaction, then its insert order. On
//!   Postgres a transaction's rows become visible at its commit, which can come after a later
//!   transaction's, so the relay reads only rows of transactions older than every one still
//!   running (`pg_snapshot_xmin`): nothing can appear behind the cursor once it has moved on.
//!   SQLite has one writer, so `seq` alone is the commit order.
//! - **One relay.** The replicas share the cursor row; the one holding its lease relays, and
//!   renews it (storing the cursor) every [`RENEW_EVERY`]. If it dies, another takes over when
//!   the lease runs out and republishes from the stored cursor; JetStream drops what was
//!   already published (the event id is the message id, within its 2-minute window).
//! - **Refusals.** An event the broker refuses is skipped (the relay counts and logs it); the
//!   message itself stays in the table.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use shared::{
    db::{Database, Pool, Timestamp},
    events::outbox::{Claimed, OutboxError, OutboxStore},
    ids::UserId,
    with_pool,
};
use tokio::sync::Notify;
use uuid::Uuid;

use super::rows::MessageRow;
use crate::domain::Message;

/// How long a relay's hold on the log lasts without renewal.
const LEASE: Duration = Duration::from_secs(5);
/// How often the holder renews its lease and stores its cursor.
pub const RENEW_EVERY: Duration = Duration::from_millis(1500);

/// A position in the log: `(tx_id, seq)`.
type Position = (i64, i64);

#[derive(Default)]
struct Cursor {
    /// Where this relay is, while it holds the lease.
    at: Option<Position>,
    /// When the lease was last renewed.
    renewed: Option<Instant>,
    /// The positions of the last claim, by `seq`.
    claimed: Vec<Position>,
}

/// The message log of one chat database, as the relay reads it.
pub struct MessageLog {
    db: Database,
    holder: String,
    cursor: Mutex<Cursor>,
    written: std::sync::Arc<Notify>,
}

#[derive(sqlx::FromRow)]
struct LogRow {
    tx: i64,
    seq: i64,
    owner_id: Uuid,
    traceparent: Option<String>,
    #[sqlx(flatten)]
    message: MessageRow,
}

impl MessageLog {
    /// The log of `db`, relayed as `holder` (this replica's id); `written` is notified after
    /// every committed batch.
    pub fn new(db: Database, holder: String, written: std::sync::Arc<Notify>) -> Self {
        Self {
            db,
            holder,
            cursor: Mutex::default(),
            written,
        }
    }

    /// Notified after every committed batch: the relay's wake-up.
    pub fn written(&self) -> std::sync::Arc<Notify> {
        self.written.clone()
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        match self.cursor.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Takes or renews the lease, storing this relay's cursor; the cursor to go on from, or
    /// `None` while another replica holds the lease.
    async fn lease(&self, until: Timestamp) -> Result<Option<Position>, sqlx::Error> {
        let (at, renewed) = {
            let cursor = self.cursor();
            (cursor.at, cursor.renewed)
        };
        if let (Some(at), Some(renewed)) = (at, renewed) {
            if renewed.elapsed() < RENEW_EVERY {
                return Ok(Some(at));
            }
        }
        let now = Timestamp::now();
        let stored: Option<(i64, i64)> = with_pool!(self.db, |pool| {
            sqlx::query_as(
                "update message_relay set holder = $1, leased_until = $2, updated_at = $3, \
                 after_tx = coalesce($4, after_tx), after_seq = coalesce($5, after_seq) \
                 where name = 'messages' and (holder = $1 or holder is null or leased_until < $3) \
                 returning after_tx, after_seq",
            )
            .bind(&self.holder)
            .bind(until)
            .bind(now)
            .bind(at.map(|p| p.0))
            .bind(at.map(|p| p.1))
            .fetch_optional(pool)
            .await?
        });
        let mut cursor = self.cursor();
        match stored {
            Some(position) => {
                cursor.renewed = Some(Instant::now());
                Ok(Some(*cursor.at.get_or_insert(position)))
            }
            None => {
                *cursor = Cursor::default();
                Ok(None)
            }
        }
    }

    /// Moves the cursor past the claimed events `seqs`.
    fn advance(&self, seqs: &[i64]) {
        let mut cursor = self.cursor();
        let furthest = cursor
            .claimed
            .iter()
            .filter(|(_, seq)| seqs.contains(seq))
            .max()
            .copied();
        if let (Some(furthest), Some(at)) = (furthest, cursor.at.as_mut()) {
            *at = (*at).max(furthest);
        }
    }
}

#[async_trait]
impl OutboxStore for MessageLog {
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>, OutboxError> {
        let until = Timestamp(shared::time::now() + LEASE);
        let Some((tx, seq)) = self.lease(until).await? else {
            return Ok(Vec::new());
        };
        let rows: Vec<LogRow> = match self.db.pool() {
            Pool::Postgres(pool) => {
                sqlx::query_as(
                    "select m.tx_id::text::bigint as tx, m.seq, r.owner_id, m.traceparent, \
                     m.id, m.room_id, m.sender_type, m.content, m.created_at, m.position \
                     from messages m join rooms r on r.id = m.room_id \
                     where (m.tx_id, m.seq) > ($1::text::xid8, $2) \
                     and m.tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
                     order by m.tx_id, m.seq limit $3",
                )
                .bind(tx.to_string())
                .bind(seq)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Pool::Sqlite(pool) => {
                sqlx::query_as(
                    "select 0 as tx, m.seq, r.owner_id, m.traceparent, \
                     m.id, m.room_id, m.sender_type, m.content, m.created_at, m.position \
                     from messages m join rooms r on r.id = m.room_id \
                     where m.seq > ?1 order by m.seq limit ?2",
                )
                .bind(seq)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        let mut cursor = self.cursor();
        cursor.claimed = rows.iter().map(|r| (r.tx, r.seq)).collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let message = Message::from(row.message);
                Claimed {
                    seq: row.seq,
                    event: crate::events::message_posted(
                        &message,
                        UserId::from(row.owner_id),
                        row.traceparent,
                    ),
                }
            })
            .collect())
    }

    async fn complete(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        self.advance(seqs);
        Ok(())
    }

    async fn park(&self, refused: &[(i64, String)]) -> Result<(), OutboxError> {
        let seqs: Vec<i64> = refused.iter().map(|(seq, _)| *seq).collect();
        self.advance(&seqs);
        Ok(())
    }

    async fn release(&self, _seqs: &[i64]) -> Result<(), OutboxError> {
        Ok(())
    }

    /// Messages not yet published: behind this replica's cursor while it relays, else behind
    /// the stored one (which the relaying replica keeps within [`RENEW_EVERY`]).
    async fn backlog(&self) -> Result<i64, OutboxError> {
        let at = self.cursor().at;
        let (tx, seq) = match at {
            Some(at) => at,
            None => with_pool!(self.db, |pool| {
                sqlx::query_as(
                    "select after_tx, after_seq from message_relay where name = 'messages'",
                )
                .fetch_one(pool)
                .await?
            }),
        };
        let count = match self.db.pool() {
            Pool::Postgres(pool) => {
                sqlx::query_scalar(
                    "select count(*) from messages where (tx_id, seq) > ($1::text::xid8, $2)",
                )
                .bind(tx.to_string())
                .bind(seq)
                .fetch_one(pool)
                .await?
            }
            Pool::Sqlite(pool) => {
                sqlx::query_scalar("select count(*) from messages where seq > ?1")
                    .bind(seq)
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(count)
    }

    /// Stores the cursor and lets the lease go, so another replica takes over at once.
    async fn close(&self) -> Result<(), OutboxError> {
        let Some((tx, seq)) = self.cursor().at else {
            return Ok(());
        };
        with_pool!(self.db, |pool| {
            sqlx::query(
                "update message_relay set holder = null, leased_until = null, updated_at = $2, \
                 after_tx = $3, after_seq = $4 where name = 'messages' and holder = $1",
            )
            .bind(&self.holder)
            .bind(Timestamp::now())
            .bind(tx)
            .bind(seq)
            .execute(pool)
            .await?;
        });
        *self.cursor() = Cursor::default();
        Ok(())
    }
}
