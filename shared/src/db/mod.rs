//! The storage plumbing both services share: connection pools for both backends
//! ([`Database`], migrated on connect, with health, pool metrics and the outbox), the
//! [`Timestamp`] both backends bind and read, and the classification of database failures into
//! what the client should see: an outage (503) or a constraint (4xx).
//!
//! A store writes each query once: sqlx binds `$N` on SQLite too, and [`with_pool!`] runs the
//! same code on whichever pool the `DATABASE_URL` chose.

mod database;
mod timestamp;

pub use database::{Database, Pool, Schema};
pub use timestamp::Timestamp;

use std::{str::FromStr, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    ConnectOptions, PgPool, SqlitePool,
};

use crate::config::DatabaseUrl;

/// A Postgres pool. A request waits at most `acquire_timeout` for a connection; after that the
/// database counts as unavailable (503), never as a server error.
pub async fn connect_postgres(
    url: &DatabaseUrl,
    max_connections: u32,
) -> Result<PgPool, sqlx::Error> {
    let options =
        PgConnectOptions::from_str(url.expose())?.log_statements(tracing::log::LevelFilter::Trace);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await
}

/// A SQLite pool on a file: WAL, foreign keys, a busy timeout so writers queue instead of failing.
///
/// `synchronous=FULL`: every commit is on disk before it returns, so nothing acknowledged is
/// lost on power loss. `NORMAL` in WAL mode may lose the last commits; its saving is one fsync
/// per commit, and group commit already shares that among a batch (docs/benchmarks.md).
pub async fn connect_sqlite(url: &DatabaseUrl) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url.expose())?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .log_statements(tracing::log::LevelFilter::Trace);
    SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Creates the parent directory of a `sqlite:` file URL, so a fresh data directory works.
pub fn ensure_sqlite_parent_dir(url: &DatabaseUrl) -> std::io::Result<()> {
    let path = url
        .expose()
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    Ok(())
}

/// Whether an error means the database is unreachable or refusing work (→ 503).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // Postgres: connection exceptions (08), too many connections, shutdown, read-only;
            // SQLite: busy / locked.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "53300" | "57P01" | "57P02" | "57P03" | "25006" | "5" | "6"
                )
        }
        _ => false,
    }
}

/// The name of the unique constraint an error violated, if that is what it was.
pub fn unique_violation(error: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    // Postgres names the constraint; SQLite names the column(s) in the message.
    Some(
        db.constraint()
            .map(str::to_owned)
            .unwrap_or_else(|| db.message().to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_sqlite_commit_is_synced_before_it_returns() {
        let dir = std::env::temp_dir().join(format!("db-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url: DatabaseUrl = format!("sqlite://{}/t.db", dir.display()).parse().unwrap();
        let pool = connect_sqlite(&url).await.unwrap();
        // 2 = FULL: acknowledged commits survive power loss.
        let synchronous: i64 = sqlx::query_scalar("pragma synchronous")
            .fetch_one(&pool)
            .await
            .unwrap();
        let journal: String = sqlx::query_scalar("pragma journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((synchronous, journal.as_str()), (2, "wal"));
    }
}
