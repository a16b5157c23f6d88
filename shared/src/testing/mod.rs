//! Test support shared by both services (feature `testing`): a fresh database per test on
//! either backend, a NATS subject prefix per test, a NATS server of a test's own (to stop and
//! start again, or with the deployed users and permissions), quiet tracing unless
//! `TEST_LOG=1`, the schema a database ends with (to compare the two backends' migrations),
//! the committed AsyncAPI document with a check of payloads against it, and for outage drills
//! a TCP proxy to cut and a private Postgres server to stop.
//!
//! A missing Postgres or NATS fails the test that needs it; nothing is skipped.

pub mod asyncapi;
pub mod memory;
mod nats_server;
mod private_postgres;
mod proxy;
pub mod schema;
mod store_under_test;
mod wait;

use std::{path::PathBuf, sync::Once};

pub use nats_server::{NatsServer, NATS_USERS};
pub use private_postgres::PrivatePostgres;
pub use proxy::TcpProxy;
pub use store_under_test::StoreUnderTest;
pub use wait::{eventually, PATIENCE};

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::config::{Backend, DatabaseUrl};

/// Makes sure Postgres and NATS are up before a test needs them: when either port is closed,
/// runs `deploy/ensure-backends.sh` (installs from Debian if missing, starts if stopped).
/// A backend that still cannot be reached fails the test; nothing is skipped.
pub fn ensure_backends() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let open = |port: u16| {
            std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                std::time::Duration::from_millis(500),
            )
            .is_ok()
        };
        if open(5432) && open(4222) {
            return;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/ensure-backends.sh");
        let status = std::process::Command::new("bash").arg(script).status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "could not bring up Postgres and NATS with {script}: {status:?}"
        );
    });
}

/// Where the tests' Postgres server is (`TEST_POSTGRES_URL`).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Where the tests' NATS server is (`TEST_NATS_URL`).
pub fn nats_url() -> String {
    ensure_backends();
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A subject prefix no other test uses, e.g. `t3f2a….`.
pub fn unique_prefix() -> String {
    format!("t{}.", Uuid::new_v4().simple())
}

/// Silent tracing for tests; `TEST_LOG=1` prints it.
pub fn init_test_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let _guard = crate::telemetry::init(
                "test",
                &crate::telemetry::TelemetryConfig::default(),
                std::io::stderr,
            );
            std::mem::forget(_guard);
        }
    });
}

/// A database that exists for one test and is dropped afterwards (`TEST_KEEP_DBS=1` keeps it).
pub struct TestDatabase {
    url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres { name: String },
    Sqlite { dir: PathBuf },
}

impl TestDatabase {
    /// A fresh, empty database on `backend`.
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => Self::postgres().await,
            Backend::Sqlite => Self::sqlite(),
        }
    }

    /// A fresh Postgres database `t_<uuid>` on the test server.
    pub async fn postgres() -> Self {
        ensure_backends();
        let name = format!("t_{}", Uuid::new_v4().simple());
        let admin = postgres_admin_url();
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("Postgres must be running at {admin}: {e}"));
        conn.execute(format!("create database {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("could not create test database: {e}"));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}")
            .parse()
            .unwrap_or_else(|e| panic!("bad test database url: {e}"));
        Self {
            url,
            cleanup: Cleanup::Postgres { name },
        }
    }

    /// A fresh SQLite file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("carinfo-test-{}", Uuid::new_v4().simple()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("could not create {}: {e}", dir.display());
        }
        let url = format!("sqlite://{}/test.db", dir.display())
            .parse()
            .unwrap_or_else(|e| panic!("bad sqlite url: {e}"));
        Self {
            url,
            cleanup: Cleanup::Sqlite { dir },
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The same Postgres database reached through `proxy` (for outage tests).
    pub fn url_via(&self, proxy: &TcpProxy) -> DatabaseUrl {
        let url = self
            .url
            .expose()
            .replace("127.0.0.1:5432", &proxy.addr().to_string());
        url.parse()
            .unwrap_or_else(|e| panic!("bad proxied url: {e}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var("TEST_KEEP_DBS").is_ok() {
            return;
        }
        match &self.cleanup {
            Cleanup::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { name } => {
                let name = name.clone();
                // Drop runs outside any runtime we may block; use a short-lived one on a thread.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut conn) = PgConnection::connect(&postgres_admin_url()).await {
                            let _ = conn
                                .execute(
                                    format!("drop database if exists {name} with (force)").as_str(),
                                )
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The migration file names of `service` (`accounts`, `chat`) for `backend` (`postgres`,
/// `sqlite`), sorted: every migration must exist for both backends with the same name.
pub fn migration_names(service: &str, backend: &str) -> Vec<String> {
    let dir = format!(
        "{}/../migrations/{service}/{backend}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
