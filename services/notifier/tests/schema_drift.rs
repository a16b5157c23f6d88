//! The migrations of each backend, `migrations/notifier/{postgres,sqlite}`, build the same
//! database: a fresh Postgres database and a fresh SQLite file, migrated as the app migrates
//! them, end with the same tables, columns, nullability, type families and indexed column
//! lists. The unit test next to `store::SCHEMA` checks the file names; this one checks what
//! the files do.

#[tokio::test]
async fn both_backends_end_their_migrations_with_the_same_schema() {
    // Arrange, Act: a fresh database of each backend, migrated as the app migrates it.
    let differences = shared::testing::schema::drift_of(&notifier::store::SCHEMA).await;

    // Assert
    assert!(differences.is_empty(), "{differences:#?}");
}
