//! One service's database: the pool of the backend its URL names, migrated on connect.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use sqlx::{migrate::Migrator, PgPool, SqlitePool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{Backend, DatabaseUrl},
    events::{
        outbox::{BusSink, OutboxStore, PostgresOutbox, Relay, SqliteOutbox},
        EventBus,
    },
    http::ops::Readiness,
};

/// A service's schema on each backend (`sqlx::migrate!` of its two folders) and the store
/// that opens on a database migrated to it.
pub struct Schema<S: ?Sized> {
    /// `migrations/<service>/postgres`.
    pub postgres: Migrator,
    /// `migrations/<service>/sqlite`.
    pub sqlite: Migrator,
    /// The service's store on a migrated database.
    pub store: fn(Database) -> Arc<S>,
}

impl<S: ?Sized> Schema<S> {
    /// The store on a connected, migrated database.
    pub fn open(&self, db: Database) -> Arc<S> {
        (self.store)(db)
    }

    /// Connects to the database `url` names, migrates it and opens the store: what tools and
    /// tests need when they have no service around.
    pub async fn connect(&self, url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Arc<S>> {
        Ok(self.open(Database::connect(url, max_connections, self).await?))
    }
}

/// The pool of the backend a `DATABASE_URL` selects.
#[derive(Clone, Debug)]
pub enum Pool {
    /// Production.
    Postgres(PgPool),
    /// The embedded default.
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the Postgres or the SQLite pool of a [`Database`]: the
/// query text is written once (`$N` placeholders) and type-checked for both backends.
#[macro_export]
macro_rules! with_pool {
    ($database:expr, |$pool:ident| $body:expr) => {
        match $database.pool() {
            $crate::db::Pool::Postgres($pool) => $body,
            $crate::db::Pool::Sqlite($pool) => $body,
        }
    };
}

/// A connected, migrated database, and the relay of its outbox.
#[derive(Clone, Debug)]
pub struct Database {
    pool: Pool,
    outbox_written: Arc<Notify>,
}

impl Database {
    /// Connects to the database `url` names (creating a SQLite file and its directory if
    /// needed) and applies pending migrations.
    pub async fn connect<S: ?Sized>(
        url: &DatabaseUrl,
        max_connections: u32,
        migrations: &Schema<S>,
    ) -> anyhow::Result<Self> {
        let pool = match url.backend() {
            Backend::Postgres => {
                let pool = super::connect_postgres(url, max_connections).await?;
                migrations.postgres.run(&pool).await?;
                Pool::Postgres(pool)
            }
            Backend::Sqlite => {
                super::ensure_sqlite_parent_dir(url)?;
                let pool = super::connect_sqlite(url).await?;
                migrations.sqlite.run(&pool).await?;
                Pool::Sqlite(pool)
            }
        };
        Ok(Self {
            pool,
            outbox_written: Arc::new(Notify::new()),
        })
    }

    /// The pool, for [`with_pool!`].
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(self, |pool| {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(())
    }

    /// (open connections, idle connections).
    pub fn usage(&self) -> (u32, usize) {
        with_pool!(self, |pool| (pool.size(), pool.num_idle()))
    }

    /// This database's outbox, for the relay.
    pub fn outbox(&self) -> Arc<dyn OutboxStore> {
        match &self.pool {
            Pool::Postgres(pool) => Arc::new(PostgresOutbox(pool.clone())),
            Pool::Sqlite(pool) => Arc::new(SqliteOutbox(pool.clone())),
        }
    }

    /// Wakes the relay: a store calls it after committing outbox rows, so events leave at
    /// once rather than at the relay's next poll.
    pub fn outbox_written(&self) {
        self.outbox_written.notify_one();
    }

    /// The relay that publishes this database's outbox to `bus`, naming `origin` as the
    /// events' sender.
    pub fn relay(&self, service: &'static str, bus: Arc<dyn EventBus>, origin: String) -> Relay {
        Relay::new(
            service,
            self.outbox(),
            Arc::new(BusSink { bus, origin }),
            self.outbox_written.clone(),
        )
    }

    /// Publishes the pool gauges every few seconds until `stop`.
    pub async fn report_usage(self, service: &'static str, stop: CancellationToken) {
        loop {
            let (size, idle) = self.usage();
            crate::metrics::set_pool_usage(service, size, idle);
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }
}

/// Ready means the database answers.
#[async_trait]
impl Readiness for Database {
    async fn check(&self) -> Result<(), String> {
        self.ping().await.map_err(|e| format!("database: {e}"))
    }
}
