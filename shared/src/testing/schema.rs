//! The schema a database ends with, read back from either backend's catalogue into one shape
//! so the two can be compared: its tables (sqlx's `_sqlx_migrations` aside), each column's
//! type family and nullability, and the column lists its indexes cover. A service's
//! migrations are written twice, once per backend; [`drift`] says whether they still build
//! the same database.
//!
//! Types compare as SQLite storage classes, the finest distinction SQLite's side carries: a
//! Postgres type belongs to the class the SQLite backend stores its values in, e.g.
//! `timestamptz` to `integer` (microseconds, `crate::time::to_micros`) and `uuid` to `blob`
//! (sqlx writes its 16 bytes).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::config::{Backend, DatabaseUrl};

/// What kind of value a column holds: SQLite's storage classes (its type affinities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Whole numbers, booleans and timestamps (microseconds since the epoch).
    Integer,
    /// Text.
    Text,
    /// Bytes, UUIDs included.
    Blob,
    /// Floating point.
    Real,
    /// Exact decimals.
    Numeric,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its type family.
    pub family: Family,
    /// Whether it may hold NULL.
    pub nullable: bool,
}

/// One index (primary keys and unique constraints included).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    /// The indexed columns, in index order.
    pub columns: Vec<String>,
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// Whether it covers only the rows of a `where` clause.
    pub partial: bool,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Columns by name.
    pub columns: BTreeMap<String, Column>,
    /// Its indexes, whatever their names.
    pub indexes: BTreeSet<Index>,
}

/// Every table of a database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
}

/// The table sqlx records applied migrations in: bookkeeping, not schema.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

impl Schema {
    /// The schema of the database at `url`, on either backend.
    pub async fn read(url: &DatabaseUrl) -> Self {
        match url.backend() {
            Backend::Postgres => read_postgres(url).await,
            Backend::Sqlite => read_sqlite(url).await,
        }
    }
}

/// Every difference between the schema Postgres and SQLite ended with, one line each, e.g.
/// `column outbox.claimed_until: only on postgres`; empty when they agree.
pub fn drift(postgres: &Schema, sqlite: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    for (name, side) in only_in(&postgres.tables, &sqlite.tables) {
        found.push(format!("table {name}: only on {side}"));
    }
    for (table, pg) in &postgres.tables {
        let Some(lite) = sqlite.tables.get(table) else {
            continue;
        };
        for (name, side) in only_in(&pg.columns, &lite.columns) {
            found.push(format!("column {table}.{name}: only on {side}"));
        }
        for (name, pg_column) in &pg.columns {
            match lite.columns.get(name) {
                Some(lite_column) if lite_column != pg_column => found.push(format!(
                    "column {table}.{name}: {} on postgres, {} on sqlite",
                    describe(pg_column),
                    describe(lite_column)
                )),
                _ => {}
            }
        }
        for index in pg.indexes.difference(&lite.indexes) {
            found.push(format!(
                "index {table} {}: only on postgres",
                describe_index(index)
            ));
        }
        for index in lite.indexes.difference(&pg.indexes) {
            found.push(format!(
                "index {table} {}: only on sqlite",
                describe_index(index)
            ));
        }
    }
    found
}

fn only_in<'a, V>(
    postgres: &'a BTreeMap<String, V>,
    sqlite: &'a BTreeMap<String, V>,
) -> Vec<(&'a str, &'static str)> {
    let missing = |from: &'a BTreeMap<String, V>, other: &BTreeMap<String, V>, side| {
        from.keys()
            .filter(|k| !other.contains_key(*k))
            .map(move |k| (k.as_str(), side))
            .collect::<Vec<_>>()
    };
    let mut found = missing(postgres, sqlite, "postgres");
    found.extend(missing(sqlite, postgres, "sqlite"));
    found
}

fn describe(column: &Column) -> String {
    let null = if column.nullable { "null" } else { "not null" };
    format!("{:?} {null}", column.family).to_lowercase()
}

fn describe_index(index: &Index) -> String {
    let mut text = format!("({})", index.columns.join(", "));
    if index.unique {
        text.push_str(" unique");
    }
    if index.partial {
        text.push_str(" partial");
    }
    text
}

/// The family of a Postgres type (`udt_name`). A type without a known SQLite counterpart
/// fails the test: whoever introduces it decides how SQLite stores it.
fn postgres_family(udt_name: &str) -> Family {
    match udt_name {
        // xid8: a transaction id (SQLite, with one writer, keeps none).
        "int2" | "int4" | "int8" | "bool" | "timestamptz" | "xid8" => Family::Integer,
        "text" | "varchar" | "bpchar" => Family::Text,
        "uuid" | "bytea" => Family::Blob,
        "float4" | "float8" => Family::Real,
        "numeric" => Family::Numeric,
        other => panic!(
            "no SQLite counterpart is known for the Postgres type {other}: map it in {}",
            file!()
        ),
    }
}

/// The affinity SQLite gives a declared type (<https://www.sqlite.org/datatype3.html>, 3.1).
fn sqlite_family(declared: &str) -> Family {
    let declared = declared.to_ascii_uppercase();
    let has = |part: &str| declared.contains(part);
    if has("INT") {
        Family::Integer
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        Family::Text
    } else if has("BLOB") || declared.is_empty() {
        Family::Blob
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        Family::Real
    } else {
        Family::Numeric
    }
}

async fn read_postgres(url: &DatabaseUrl) -> Schema {
    let mut conn = PgConnection::connect(url.expose())
        .await
        .unwrap_or_else(|e| panic!("Postgres reachable: {e}"));
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables \
         where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("tables listed: {e}"));
    for table in tables {
        schema.tables.insert(table, Table::default());
    }
    let columns: Vec<(String, String, String, bool)> = sqlx::query_as(
        "select table_name::text, column_name::text, udt_name::text, is_nullable = 'YES' \
         from information_schema.columns where table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("columns listed: {e}"));
    for (table, column, udt_name, nullable) in columns {
        if let Some(table) = schema.tables.get_mut(&table) {
            let family = postgres_family(&udt_name);
            table.columns.insert(column, Column { family, nullable });
        }
    }
    let indexes: Vec<(String, bool, bool, Vec<String>)> = sqlx::query_as(
        "select t.relname::text, ix.indisunique, ix.indpred is not null, \
           array(select a.attname::text \
                 from unnest(ix.indkey::int2[]) with ordinality as k(attnum, n) \
                 join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum \
                 order by k.n) \
         from pg_index ix \
         join pg_class t on t.oid = ix.indrelid \
         join pg_namespace ns on ns.oid = t.relnamespace \
         where ns.nspname = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("indexes listed: {e}"));
    for (table, unique, partial, columns) in indexes {
        if let Some(table) = schema.tables.get_mut(&table) {
            table.indexes.insert(Index {
                columns,
                unique,
                partial,
            });
        }
    }
    schema
}

async fn read_sqlite(url: &DatabaseUrl) -> Schema {
    let mut conn = SqliteConnection::connect(url.expose())
        .await
        .unwrap_or_else(|e| panic!("SQLite file opens: {e}"));
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "select name from sqlite_master \
         where type = 'table' and name not like 'sqlite_%' and name <> ?",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("tables listed: {e}"));
    for name in tables {
        let mut table = Table::default();
        let columns: Vec<(String, String, bool, i64)> =
            sqlx::query_as("select name, type, \"notnull\", pk from pragma_table_info(?)")
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("columns of {name} listed: {e}"));
        let key: Vec<&(String, String, bool, i64)> =
            columns.iter().filter(|(.., pk)| *pk > 0).collect();
        // An `integer primary key` is the rowid itself: indexed and unique without an index
        // of its own, where Postgres has one for its primary key.
        if let [(column, declared, ..)] = key.as_slice() {
            if declared.eq_ignore_ascii_case("integer") {
                table.indexes.insert(Index {
                    columns: vec![column.clone()],
                    unique: true,
                    partial: false,
                });
            }
        }
        for (column, declared, not_null, pk) in &columns {
            // SQLite lets a primary key other than the rowid hold NULL, a documented legacy
            // quirk; the stores always write the key, so a key column counts as `not null`,
            // as Postgres declares it.
            let nullable = !*not_null && *pk == 0;
            table.columns.insert(
                column.clone(),
                Column {
                    family: sqlite_family(declared),
                    nullable,
                },
            );
        }
        let indexes: Vec<(String, bool, bool)> =
            sqlx::query_as("select name, \"unique\", partial from pragma_index_list(?)")
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("indexes of {name} listed: {e}"));
        for (index, unique, partial) in indexes {
            let columns: Vec<String> =
                sqlx::query_scalar("select name from pragma_index_info(?) order by seqno")
                    .bind(&index)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("columns of index {index} listed: {e}"));
            table.indexes.insert(Index {
                columns,
                unique,
                partial,
            });
        }
        schema.tables.insert(name, table);
    }
    schema
}

/// Migrates a fresh Postgres database and a fresh SQLite file as a service's store does and
/// returns how their schemas differ (see [`drift`]), after checking the migrations ran.
pub async fn drift_of<S: ?Sized>(schema: &crate::db::Schema<S>) -> Vec<String> {
    let (_postgres_db, postgres) = migrated(schema, Backend::Postgres).await;
    let (_sqlite_db, sqlite) = migrated(schema, Backend::Sqlite).await;
    // Every service's migrations make tables (not every service has an outbox: the notifier
    // publishes nothing).
    assert!(
        !postgres.tables.is_empty() && !sqlite.tables.is_empty(),
        "the migrations ran: {postgres:?} {sqlite:?}"
    );
    drift(&postgres, &sqlite)
}

/// A fresh database of `backend` after the store connected to it, and its schema.
async fn migrated<S: ?Sized>(
    schema: &crate::db::Schema<S>,
    backend: Backend,
) -> (super::TestDatabase, Schema) {
    super::init_test_tracing();
    let db = super::TestDatabase::create(backend).await;
    let store = schema.connect(db.url(), 1).await;
    assert!(store.is_ok(), "the store connects and migrates");
    drop(store);
    let read = Schema::read(db.url()).await;
    (db, read)
}
