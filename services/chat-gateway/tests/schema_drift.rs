//! The migrations of each backend, `migrations/chat/{postgres,sqlite}`, build the same
//! database: a fresh Postgres database and a fresh SQLite file, migrated by `store::SCHEMA.connect`
//! as the app migrates them, end with the same tables, columns, nullability, type families
//! and indexed column lists. The unit test next to `store::SCHEMA.connect` checks the file names;
//! this one checks what the files do.

#![expect(
    clippy::expect_used,
    reason = "a schema that cannot be built fails the test by panicking"
)]

use shared::{
    config::Backend,
    testing::{
        init_test_tracing,
        schema::{drift, Schema},
        TestDatabase,
    },
};

/// The differences the two backends have on purpose, each with its reason.
const INTENDED: &[&str] = &[
    // On Postgres every replica runs a relay, and each claims the events it publishes with a
    // lease; SQLite has one relaying process, which needs no lease.
    "column outbox.claimed_until: only on postgres",
];

/// A fresh database of `backend` after `store::SCHEMA.connect`, and the schema it ended with.
async fn migrated(backend: Backend) -> (TestDatabase, Schema) {
    init_test_tracing();
    let db = TestDatabase::create(backend).await;
    let store = chat_gateway::store::SCHEMA
        .connect(db.url(), 1)
        .await
        .expect("the store connects and migrates");
    drop(store);
    let schema = Schema::read(db.url()).await;
    (db, schema)
}

#[tokio::test]
async fn both_backends_end_their_migrations_with_the_same_schema() {
    // Arrange: a fresh database of each backend, migrated as the app migrates it.
    let (_postgres_db, postgres) = migrated(Backend::Postgres).await;
    let (_sqlite_db, sqlite) = migrated(Backend::Sqlite).await;

    // Act
    let differences = drift(&postgres, &sqlite);

    // Assert
    assert!(
        postgres.tables.contains_key("outbox"),
        "the migrations ran: {postgres:?}"
    );
    assert_eq!(differences, INTENDED);
}
