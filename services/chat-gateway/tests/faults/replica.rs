//! A chat-gateway replica as a real OS process: the binary cargo built for this package,
//! configured through its environment as in production, that a drill can kill (SIGKILL) or
//! stop (SIGTERM). Killed on drop, panics included.

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use tokio::time::Instant;

use crate::deployment::Deployment;

/// How long a replica may take to start serving, and to exit after SIGTERM.
pub const STARTUP: Duration = Duration::from_secs(30);

/// A running `chat-gateway` process.
pub struct Replica {
    port: u16,
    child: Child,
}

impl Replica {
    /// Starts a replica named `name` of `deployment` on a free port, with `extra` settings,
    /// and waits until `/readyz` answers 200 (database and NATS reachable).
    pub async fn start(deployment: &Deployment, name: &str, extra: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let verbose = std::env::var_os("TEST_LOG").is_some();
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat-gateway"));
        command
            .env_clear()
            .envs(deployment.env(name, port))
            .envs(extra.iter().copied())
            .env("RUST_LOG", if verbose { "info" } else { "error" })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("chat-gateway starts: {e}"));
        let mut replica = Self { port, child };
        replica.wait_until_ready().await;
        replica
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: the process dies at once, with no chance to close anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator sends before replacing a replica.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "kill -TERM: {status:?}"
        );
    }

    /// Waits until the process exits; `None` when it is still running after `within`.
    pub async fn wait_for_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let url = format!("{}/readyz", self.http());
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chat-gateway exited during startup with {status}");
            }
            let ready = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "chat-gateway not ready in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}
