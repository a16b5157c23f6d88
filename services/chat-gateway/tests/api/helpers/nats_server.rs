//! A `nats-server` of the test's own.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;

use super::eventually;

/// A `nats-server` of the test's own, with JetStream in a temporary store, that the test can
/// kill and restart on the same port. Killed on drop, panics included.
pub struct OwnNatsServer {
    port: u16,
    store_dir: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl OwnNatsServer {
    /// Starts one on a free port.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            port,
            store_dir: dir.path().to_path_buf(),
            child: None,
            _dir: dir,
        };
        server.restart().await;
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (no goodbye to clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store, and waits until it accepts
    /// connections with JetStream ready.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new("/usr/sbin/nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let url = self.url();
        eventually("nats-server accepts JetStream requests", || async {
            let client = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_millis(500))
                .connect(&url)
                .await
                .ok()?;
            // The raw account-info request: typed clients may not parse an older server's answer.
            let reply = client.request("$JS.API.INFO", "".into()).await.ok()?;
            let info: Value = serde_json::from_slice(&reply.payload).ok()?;
            info.get("error").is_none().then_some(())
        })
        .await;
    }
}

impl Drop for OwnNatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
