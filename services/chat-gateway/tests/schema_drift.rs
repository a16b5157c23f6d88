//! The migrations of each backend, `migrations/chat/{postgres,sqlite}`, build the same
//! database: a fresh Postgres database and a fresh SQLite file, migrated as the app migrates
//! them, end with the same tables, columns, nullability, type families and indexed column
//! lists. The unit test next to `store::SCHEMA` checks the file names; this one checks what
//! the files do.

/// The differences the two backends have on purpose, each with its reason.
const INTENDED: &[&str] = &[
    // The message log's cursor: on Postgres a row's place is its transaction, then its insert
    // order, since transactions commit in any order; SQLite has one writer, so the insert
    // order alone is the commit order.
    "column messages.tx_id: only on postgres",
    "index messages (tx_id, seq): only on postgres",
    "index messages (seq): only on sqlite",
    // On Postgres every replica runs a relay, and each claims the events it publishes with a
    // lease; SQLite has one relaying process, which needs no lease.
    "column outbox.claimed_until: only on postgres",
];

#[tokio::test]
async fn both_backends_end_their_migrations_with_the_same_schema() {
    // Arrange, Act: a fresh database of each backend, migrated as the app migrates it.
    let differences = shared::testing::schema::drift_of(&chat_gateway::store::SCHEMA).await;

    // Assert
    assert_eq!(differences, INTENDED);
}
