//! A Postgres server of the test's own (a fresh cluster in a temporary directory, on a free
//! loopback port) that the test may stop and start again: outage drills stop a real server,
//! and the shared one on :5432 serves every other test running at the same time.
//!
//! `initdb` and `postgres` refuse to run as root, so as root they run as the `postgres` OS
//! user (`runuser`), which then owns the directory. The cluster is stopped and removed on drop.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::config::DatabaseUrl;

/// A running private cluster.
pub struct PrivatePostgres {
    bin_dir: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Creates a cluster (`initdb`, trust authentication, user `postgres`) and starts it.
    pub async fn start() -> Self {
        let bin_dir = postgres_bin_dir();
        let dir = std::env::temp_dir().join(format!("carinfo-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("could not create {}: {e}", dir.display()));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let cluster = Self { bin_dir, dir, port };
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(&cluster.dir);
            run(chown);
        }
        let mut initdb = cluster.as_server_user("initdb");
        initdb.arg("-D").arg(cluster.data_dir()).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run_blocking(initdb).await;
        cluster.start_again().await;
        cluster
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_database(&self) -> DatabaseUrl {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&self.admin_url())
            .await
            .unwrap_or_else(|e| panic!("private Postgres reachable: {e}"));
        conn.execute(format!("create database {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("could not create database: {e}"));
        let _ = conn.close().await;
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
            .parse()
            .unwrap_or_else(|e| panic!("bad database url: {e}"))
    }

    /// Stops the server the way a crash or an OOM kill would (`pg_ctl stop -m immediate`):
    /// connections are cut with no goodbye; committed transactions survive (crash recovery on
    /// the next start).
    pub async fn stop(&self) {
        run_blocking(self.pg_ctl_stop()).await;
    }

    /// Starts the server (again) on the same port and data, and waits until it accepts
    /// connections.
    pub async fn start_again(&self) {
        let mut start = self.as_server_user("pg_ctl");
        start
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c shared_buffers=16MB",
                self.port,
                self.dir.display()
            ))
            .args(["-w", "-t", "30", "start"]);
        run_blocking(start).await;
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl_stop(&self) -> Command {
        let mut stop = self.as_server_user("pg_ctl");
        stop.arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"]);
        stop
    }

    /// `program` of the Postgres installation, as the user that may run the server.
    fn as_server_user(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl_stop().output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `TEST_POSTGRES_BIN_DIR`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian).
fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TEST_POSTGRES_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path())))
        .filter(|(_, path)| path.join("bin/initdb").exists())
        .max_by_key(|(version, _)| *version);
    match newest {
        Some((_, path)) => path.join("bin"),
        None => panic!("no Postgres server binaries under {}", root.display()),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn run(mut command: Command) {
    let described = format!("{command:?}");
    match command.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "{described} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("{described} did not run: {e}"),
    }
}

/// Runs a server command off the async workers: `pg_ctl -w` waits for seconds at a time.
async fn run_blocking(command: Command) {
    match tokio::task::spawn_blocking(move || run(command)).await {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("server command did not finish: {e}"),
    }
}
