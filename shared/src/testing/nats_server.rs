//! A `nats-server -js` of one test, on a free loopback port with JetStream in a temporary
//! directory, for what the shared server on :4222 cannot show: NATS going away and coming
//! back on the same port and store (outage drills), NATS not there yet when a service starts,
//! and the deployed configuration, `deploy/nats/nats.conf` (a user per service, each with its
//! own permissions, fresh passwords), so tests prove what the deployment allows and refuses.
//! Killed and its directory removed on drop, panics included.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use uuid::Uuid;

use crate::events::NatsAuth;

/// The users `deploy/nats/nats.conf` defines, with the environment variable holding each
/// one's password.
pub const NATS_USERS: [(&str, &str); 4] = [
    ("accounts-api", "NATS_ACCOUNTS_API_PASSWORD"),
    ("chat-gateway", "NATS_CHAT_GATEWAY_PASSWORD"),
    ("notifier", "NATS_NOTIFIER_PASSWORD"),
    ("admin", "NATS_ADMIN_PASSWORD"),
];

/// How long a (re)started server may take until JetStream answers: recovering a store
/// written by the killed process takes a moment.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `nats-server -js` child process with a fixed port and store across restarts.
pub struct NatsServer {
    port: u16,
    url: String,
    dir: PathBuf,
    /// The deployed users' passwords; empty for a server without authorization.
    passwords: Vec<(&'static str, String)>,
    child: Option<Child>,
}

impl NatsServer {
    /// A server without authorization, running once this returns.
    pub async fn start() -> Self {
        let mut server = Self::stopped();
        server.restart().await;
        server
    }

    /// A server running the deployed configuration, `deploy/nats/nats.conf`, with a fresh
    /// password for each of [`NATS_USERS`]; running once this returns.
    pub async fn secured() -> Self {
        let mut server = Self::stopped();
        // nats-server parses the variables as config values: a leading letter keeps each
        // one a string (`0123…` would be a number).
        server.passwords = NATS_USERS
            .iter()
            .map(|(user, _)| (*user, format!("p{}", Uuid::new_v4().simple())))
            .collect();
        server.restart().await;
        server
    }

    /// A server without authorization whose port is chosen but which does not run until
    /// [`Self::restart`]: for a service that must start while NATS is down.
    pub fn stopped() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("no free port: {e}"))
            .port();
        let dir = std::env::temp_dir().join(format!("carinfo-nats-{}", Uuid::new_v4().simple()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("could not create {}: {e}", dir.display());
        }
        Self {
            port,
            url: format!("nats://127.0.0.1:{port}"),
            dir,
            passwords: Vec::new(),
            child: None,
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The credentials of `user`, one of [`NATS_USERS`], as a service would be configured;
    /// only a [`Self::secured`] server has users.
    pub fn auth(&self, user: &str) -> NatsAuth {
        let (_, password) = self
            .passwords
            .iter()
            .find(|(name, _)| *name == user)
            .unwrap_or_else(|| panic!("this NATS server has no user {user}"));
        NatsAuth::user(user, password)
    }

    /// The server's log so far (it names every permissions violation).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default()
    }

    /// Kills the server: no goodbye to its clients, as when its machine fails.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again, after [`Self::kill`]) on the same port and store, and waits
    /// until JetStream answers.
    pub async fn restart(&mut self) {
        self.kill();
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        // Start-up failures go to stderr, the rest to the log: both end up in one file, which
        // every restart appends to.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats.log"))
            .unwrap_or_else(|e| panic!("could not open the NATS log: {e}"));
        let mut command = Command::new(binary);
        if !self.passwords.is_empty() {
            command.arg("-c").arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../deploy/nats/nats.conf"
            ));
            for ((_, variable), (_, password)) in NATS_USERS.iter().zip(&self.passwords) {
                command.env(variable, password);
            }
        }
        command
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.join("store"))
            .stdout(Stdio::null())
            .stderr(log);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} does not start: {e}"));
        self.child = Some(child);
        self.wait_until_ready().await;
    }

    async fn wait_until_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("nats-server exited with {status}: {}", self.log());
            }
            if self.jetstream_answers().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "nats-server on {} did not get ready: {}",
            self.port,
            self.log()
        );
    }

    /// Whether JetStream answers an account-info request, as the operator when the server
    /// has users. The raw request: typed clients may not parse an older server's answer.
    async fn jetstream_answers(&self) -> bool {
        let options = async_nats::ConnectOptions::new();
        let options = if self.passwords.is_empty() {
            options
        } else {
            match self.auth("admin").apply(options).await {
                Ok(options) => options,
                Err(_) => return false,
            }
        };
        let Ok(client) = options
            .connection_timeout(Duration::from_millis(500))
            .connect(&self.url)
            .await
        else {
            return false;
        };
        let Ok(reply) = client.request("$JS.API.INFO", "".into()).await else {
            return false;
        };
        serde_json::from_slice::<serde_json::Value>(&reply.payload)
            .is_ok_and(|info| info.get("error").is_none())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
