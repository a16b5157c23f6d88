//! A `nats-server` of one test running the deployed configuration, `deploy/nats/nats.conf`
//! (a user per service, each with its own permissions), so tests prove what the deployment
//! allows and refuses. Free port, JetStream in a temporary directory, fresh passwords;
//! killed on drop, panics included.

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

/// A running `nats-server -c deploy/nats/nats.conf -js`.
pub struct SecuredNats {
    child: Child,
    url: String,
    dir: PathBuf,
    passwords: Vec<(&'static str, String)>,
}

impl SecuredNats {
    /// Starts one and waits until it accepts connections.
    pub async fn start() -> Self {
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nats/nats.conf");
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("no free port: {e}"))
            .port();
        let dir = std::env::temp_dir().join(format!("carinfo-nats-{}", Uuid::new_v4().simple()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("could not create {}: {e}", dir.display());
        }
        // nats-server parses the variables as config values: a leading letter keeps each
        // one a string (`0123…` would be a number).
        let passwords: Vec<(&'static str, String)> = NATS_USERS
            .iter()
            .map(|(user, _)| (*user, format!("p{}", Uuid::new_v4().simple())))
            .collect();
        // Start-up failures go to stderr, the rest to the log: both end up in one file.
        let log = std::fs::File::create(dir.join("nats.log"))
            .unwrap_or_else(|e| panic!("could not create the NATS log: {e}"));
        let mut command = Command::new(binary);
        command
            .arg("-c")
            .arg(config)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("store"))
            .stdout(Stdio::null())
            .stderr(log);
        for ((_, variable), (_, password)) in NATS_USERS.iter().zip(&passwords) {
            command.env(variable, password);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} does not start: {e}"));
        let mut server = Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            dir,
            passwords,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("nats-server exited with {status}: {}", server.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not listen on {port}: {}", server.log());
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The credentials of `user`, one of [`NATS_USERS`], as a service would be configured.
    pub fn auth(&self, user: &str) -> NatsAuth {
        let (_, password) = self
            .passwords
            .iter()
            .find(|(name, _)| *name == user)
            .unwrap_or_else(|| panic!("deploy/nats/nats.conf has no user {user}"));
        NatsAuth::user(user, password)
    }

    /// The server's log so far (it names every permissions violation).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default()
    }
}

impl Drop for SecuredNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
