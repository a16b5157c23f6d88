//! The operators' dashboard and alert rules (`deploy/observability/`) query only metrics the
//! services serve. Both services run on Postgres and NATS and are used as people use them (a
//! registration, logins, wrong passwords up to the throttle, a chat over WebSockets, an event
//! the broker refuses); then every metric the files' queries name, with every `label="value"`
//! they require, must be on one of the two `/metrics` scrapes. The names come from the files
//! themselves, so a panel or rule added later is covered.

#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test loudly, as the tests themselves do"
)]

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use async_nats::jetstream;
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::{
    config::Backend,
    ids::UserId,
    testing::{nats_url, unique_prefix, TestDatabase},
};
use tokio_util::sync::CancellationToken;

use crate::helpers::{chat_stream_name, eventually, spawn_replica, Placement, TestOwner, PATIENCE};

mod queries;

use queries::{is_served, observability_queries, samples, written_by_prometheus, Selector};

#[tokio::test]
async fn every_metric_the_dashboard_and_the_alerts_name_is_served() {
    // Arrange
    let queries = observability_queries();
    let secret = SecretString::from(format!("observability-{}", uuid::Uuid::new_v4()));
    let (url, prefix) = (nats_url(), unique_prefix());
    let gateway = spawn_replica(
        Placement {
            db: Arc::new(TestDatabase::create(Backend::Postgres).await),
            nats: Some((url.clone(), prefix.clone())),
            secret: secret.clone(),
            replica_id: Some("gateway-a".to_owned()),
        },
        |_| {},
    )
    .await;
    let accounts = AccountsApi::spawn(&url, &prefix, &secret).await;

    // Act: an owner registers and logs in; someone guesses the password until throttled.
    let (owner, phone) = accounts.register_and_log_in().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = accounts.login(&phone, "not-the-password").await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);

    // A visitor chats with the owner, who has the room open.
    gateway.wait_for_owner(owner.id, 1).await;
    let chat = gateway.start_chat_with(&owner).await;
    let mut owner_socket = gateway.open_ws(&chat.room_id, &owner.auth()).await;
    gateway
        .chat(
            &chat.room_id,
            &chat.visitor(),
            &["Mashinangiz yo'lni to'sib qo'ygan"],
        )
        .await;
    assert_eq!(
        owner_socket.next_json().await["message"],
        "Mashinangiz yo'lni to'sib qo'ygan"
    );

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
    let patched = accounts
        .client
        .patch(format!("{}/api/profile/", accounts.address))
        .bearer_auth(&owner.token)
        .json(&json!({"full_name": "Ali Valiyev"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(patched.status(), 200);

    // Assert: parked events and the relays' gauges show up within a relay pass or two. Both
    // apps share this process's one recorder, so the two scrapes read alike here; deployed, each
    // process serves its own, and a metric must be on one of them.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let missing = loop {
        let mut served = samples(&accounts.metrics().await);
        served.extend(samples(
            &gateway.get("/metrics").await.text().await.expect("body"),
        ));
        let missing: BTreeMap<&Selector, &BTreeSet<String>> = queries
            .iter()
            .filter(|(s, _)| !written_by_prometheus(&s.name) && !is_served(s, &served))
            .collect();
        if missing.is_empty() || tokio::time::Instant::now() >= deadline {
            break missing;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        missing.is_empty(),
        "queried in deploy/observability but not served: {missing:#?}"
    );
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
        config.nats_url = Some(nats_url.to_owned());
        config.nats_subject_prefix = prefix.to_owned();
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

    /// Issues a sticker, registers it and logs in: the owner (with its access token) and phone.
    async fn register_and_log_in(&self) -> (TestOwner, String) {
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
        (
            TestOwner {
                id,
                token: token.to_owned(),
            },
            phone,
        )
    }

    async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("body read")
    }
}
