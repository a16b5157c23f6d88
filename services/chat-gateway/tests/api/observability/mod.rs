//! The operators' dashboard and alert rules (`deploy/observability/`) query only metrics the
//! services serve. Both services run on Postgres and NATS, each with a recorder of its own as
//! when deployed: chat-gateway as the binary cargo built, accounts-api in this test's process.
//! They are used as people use them (a registration, logins, wrong passwords up to the
//! throttle, a chat over WebSockets, an event the broker refuses); then every metric the
//! files' queries name, with every `label="value"` they require, must be on one of the two
//! `/metrics` scrapes. The names come from the files themselves, so a panel or rule added
//! later is covered.

#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test loudly, as the tests themselves do"
)]

use std::{
    collections::{BTreeMap, BTreeSet},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use async_nats::jetstream;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use shared::{
    config::Backend,
    ids::UserId,
    testing::{nats_url, unique_prefix, TestDatabase},
};
use tokio_util::sync::CancellationToken;

use crate::helpers::{chat_stream_name, eventually, WsClient, PATIENCE};

mod queries;

use queries::{is_served, observability_queries, samples, written_by_prometheus, Selector};

const GREETING: &str = "Mashinangiz yo'lni to'sib qo'ygan";

#[tokio::test]
async fn every_metric_the_dashboard_and_the_alerts_name_is_served() {
    // Arrange
    let queries = observability_queries();
    let secret = SecretString::from(format!("observability-{}", uuid::Uuid::new_v4()));
    let (url, prefix) = (nats_url(), unique_prefix());
    let chat_db = TestDatabase::create(Backend::Postgres).await;
    let gateway = GatewayProcess::start(&chat_db, &url, &prefix, &secret).await;
    let accounts = AccountsApi::spawn(&url, &prefix, &secret).await;
    let http = reqwest::Client::new();

    // Act: an owner registers and logs in; someone guesses the password until throttled.
    let (owner, phone, token) = accounts.register_and_log_in().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = accounts.login(&phone, "not-the-password").await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);

    // A visitor chats with the owner, who has the room open, once the gateway knows the owner.
    let chat: Value = eventually("the gateway starts a chat with the new owner", || async {
        let response = http
            .post(format!("{}/api/chat/start/", gateway.http()))
            .json(&json!({"user_id": owner.to_string()}))
            .send()
            .await
            .ok()?;
        (response.status() == 201).then_some(response.json().await.ok()?)
    })
    .await;
    let room = chat["room_id"].as_str().expect("a room id");
    let visitor = chat["visitor_token"].as_str().expect("a visitor token");
    let socket = |query: String| {
        let url = format!("{}/ws/chat/{room}/?{query}", gateway.ws());
        async move { WsClient::connect(&url, None).await.expect("upgraded") }
    };
    let mut owner_socket = socket(format!("token={token}")).await;
    let mut visitor_socket = socket(format!("visitor={visitor}")).await;
    visitor_socket.send_message(GREETING).await;
    assert_eq!(visitor_socket.next_json().await["message"], GREETING);
    assert_eq!(owner_socket.next_json().await["message"], GREETING);

    // The broker refuses accounts-api's next event, as a stream capped too small would.
    let js = jetstream::new(async_nats::connect(&url).await.expect("NATS reachable"));
    let name = chat_stream_name(&prefix).replace("CHAT", "ACCOUNTS");
    let mut stream = eventually("the accounts stream exists", || async {
        js.get_stream(&name).await.ok()
    })
    .await;
    let mut config = stream.info().await.expect("stream info").config.clone();
    config.max_message_size = 64;
    js.update_stream(config).await.expect("stream updated");
    let patched = http
        .patch(format!("{}/api/profile/", accounts.address))
        .bearer_auth(&token)
        .json(&json!({"full_name": "Ali Valiyev"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(patched.status(), 200);

    // Assert: parked events and the relays' gauges show up within a relay pass or two.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let missing = loop {
        let mut served = Vec::new();
        for address in [&accounts.address, &gateway.http()] {
            let scrape = http.get(format!("{address}/metrics")).send().await;
            let text = scrape.expect("scraped").text().await.expect("body read");
            served.extend(samples(&text));
        }
        let missing: BTreeMap<&Selector, &BTreeSet<String>> = queries
            .iter()
            .filter(|(s, _)| !written_by_prometheus(&s.name) && !is_served(s, &served))
            .collect();
        if missing.is_empty() || tokio::time::Instant::now() >= deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        missing.is_empty(),
        "queried in deploy/observability but not served: {missing:#?}"
    );
}

/// The chat-gateway binary on a free port, configured through its environment as deployed.
/// Killed on drop.
struct GatewayProcess {
    port: u16,
    child: Child,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewayProcess {
    async fn start(db: &TestDatabase, nats_url: &str, prefix: &str, secret: &SecretString) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_chat-gateway"))
            .env_clear()
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", db.url().expose())
            .env("NATS_URL", nats_url)
            .env("NATS_SUBJECT_PREFIX", prefix)
            // Unbounded: JetStream reserves a bounded stream's bytes for as long as it exists,
            // and this test's streams stay on the shared server (`StreamLimits::unbounded`).
            .env("NATS_CHAT_STREAM_MAX_BYTES", "-1")
            .env("NATS_ACCOUNTS_STREAM_MAX_BYTES", "-1")
            .env("JWT_SECRET", secret.expose_secret())
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chat-gateway starts");
        let mut gateway = Self { port, child };
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = gateway.child.try_wait() {
                panic!("chat-gateway exited during startup with {status}");
            }
            let ready = client
                .get(format!("{}/readyz", gateway.http()))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chat-gateway not ready in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gateway
    }

    fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

/// accounts-api on port 0 with the gateway's NATS prefix and signing key, so its events reach
/// the gateway's projection and its tokens open the gateway's sockets.
struct AccountsApi {
    address: String,
    store: Arc<dyn accounts_api::store::AccountStore>,
    client: reqwest::Client,
    stop: CancellationToken,
    // Last: the app's pool points at it until the app is gone.
    _db: TestDatabase,
}

impl Drop for AccountsApi {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl AccountsApi {
    async fn spawn(nats_url: &str, prefix: &str, secret: &SecretString) -> Self {
        let db = TestDatabase::create(Backend::Postgres).await;
        let mut config = accounts_api::Config::with(db.url().clone(), secret.clone());
        // The hash's cost is not what this test is about.
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
        config.common.nats_url = Some(nats_url.to_owned());
        config.common.nats_subject_prefix = prefix.to_owned();
        let application = accounts_api::Application::build(config)
            .await
            .expect("accounts-api builds");
        let address = format!("http://127.0.0.1:{}", application.port());
        let store = application.service().state.store.clone();
        let stop = CancellationToken::new();
        tokio::spawn(application.run_until_stopped(stop.clone()));
        Self {
            address,
            store,
            client: reqwest::Client::new(),
            stop,
            _db: db,
        }
    }

    async fn login(&self, phone: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/login/", self.address))
            .json(&json!({"phone_number": phone, "password": password}))
            .send()
            .await
            .expect("request sent")
    }

    /// Issues a sticker, registers it and logs in: the owner's id, phone and access token.
    async fn register_and_log_in(&self) -> (UserId, String, String) {
        let id = UserId::new_random();
        self.store
            .insert_stickers(&[id])
            .await
            .expect("sticker issued");
        let phone = format!("+99890{:07}", rand::random::<u32>() % 10_000_000);
        let registered = self
            .client
            .post(format!("{}/api/user/register/", self.address))
            .json(
                &json!({"user_id": id.to_string(), "phone_number": phone, "password": "secret123"}),
            )
            .send()
            .await
            .expect("request sent");
        assert_eq!(registered.status(), 201);
        let login = self.login(&phone, "secret123").await;
        assert_eq!(login.status(), 200);
        let body: Value = login.json().await.expect("JSON body");
        let token = body["tokens"]["access"].as_str().expect("an access token");
        (id, phone, token.to_owned())
    }
}
