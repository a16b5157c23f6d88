//! The harness: `spawn_app(Backend)` runs the real notifier on port 0 against a fresh
//! database (Postgres paired with NATS under a random subject prefix, SQLite with the
//! in-process bus), and `TestApp` calls its endpoints and publishes chat events to it.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::sync::Arc;

use notifier::{push::VapidKey, Application, Config, NotifierService};
use secrecy::SecretString;
use serde_json::Value;
use shared::{
    auth::{KeyRing, TokenType},
    config::Backend,
    events::{Envelope, EventBus, InProcessBus, NatsBus},
    ids::UserId,
    testing::{init_test_tracing, nats_url, unique_prefix, TestDatabase},
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{eventually, PATIENCE};

/// A running notifier and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The service (its store and dispatcher).
    pub service: Arc<NotifierServiceView>,
    /// A bus on the same broker and prefix as the app (the app's own one for SQLite).
    pub bus: Arc<dyn EventBus>,
    /// The key ring accounts-api signs owner tokens with.
    pub keys: KeyRing,
    /// What the app was started with, to start it again.
    pub placement: Placement,
    client: reqwest::Client,
    stop: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// What tests look at behind the app.
pub struct NotifierServiceView {
    /// The store.
    pub store: Arc<dyn notifier::store::NotifierStore>,
}

/// Where an app gets its database, bus and keys: kept across a restart.
#[derive(Clone)]
pub struct Placement {
    /// The database.
    pub db: Arc<TestDatabase>,
    /// `Some((nats_url, prefix))` for NATS, `None` for the in-process bus.
    pub nats: Option<(String, String)>,
    /// The in-process bus, shared by the app and the test.
    pub in_process: Arc<InProcessBus>,
    /// The JWT secret.
    pub secret: SecretString,
    /// The VAPID key.
    pub vapid: VapidKey,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Placement {
    /// A fresh database of `backend`, NATS under a new prefix for Postgres.
    pub async fn fresh(backend: Backend) -> Self {
        init_test_tracing();
        Self {
            db: Arc::new(TestDatabase::create(backend).await),
            nats: (backend == Backend::Postgres).then(|| (nats_url(), unique_prefix())),
            in_process: Arc::new(InProcessBus::new()),
            secret: SecretString::from(format!("test-secret-{}", uuid::Uuid::new_v4())),
            vapid: VapidKey::generate().expect("a VAPID key"),
        }
    }
}

/// The notifier with the defaults (private endpoints refused).
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// The notifier with `configure` applied on top of the defaults.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_notifier(Placement::fresh(backend).await, configure).await
}

/// One notifier placed as told, serving once this returns (its consumer subscribed).
pub async fn spawn_notifier(placement: Placement, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::with(
        placement.db.url().clone(),
        placement.secret.clone(),
        &placement.vapid,
    );
    if let Some((url, prefix)) = &placement.nats {
        config.common.nats_url = Some(url.clone());
        config.common.nats_subject_prefix = prefix.clone();
    }
    configure(&mut config);
    let (application, bus): (Application, Arc<dyn EventBus>) = match &placement.nats {
        Some((url, prefix)) => (
            Application::build(config).await.expect("the app builds"),
            Arc::new(
                NatsBus::connect(url, prefix)
                    .await
                    .expect("NATS must be running for Postgres tests"),
            ),
        ),
        None => {
            let bus: Arc<dyn EventBus> = placement.in_process.clone();
            (
                Application::build_with_bus(config, bus.clone())
                    .await
                    .expect("the app builds"),
                bus,
            )
        }
    };
    let port = application.port();
    let service: &NotifierService = application.service();
    let view = Arc::new(NotifierServiceView {
        store: service.state.store.clone(),
    });
    let stop = CancellationToken::new();
    let handle = tokio::spawn(application.run_until_stopped(stop.clone()));
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        service: view,
        bus,
        keys: KeyRing::new(&placement.secret, &[]),
        placement,
        client: reqwest::Client::new(),
        stop,
        handle: Some(handle),
    };
    eventually("the app serves /healthz", || async {
        let response = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    app
}

impl TestApp {
    /// An access token for `owner`, as accounts-api issues them.
    pub fn token(&self, owner: UserId) -> String {
        self.keys
            .signer()
            .sign(owner, TokenType::Access, 3600)
            .expect("token signed")
    }

    /// A refresh token for `owner` (never valid here).
    pub fn refresh_token(&self, owner: UserId) -> String {
        self.keys
            .signer()
            .sign(owner, TokenType::Refresh, 3600)
            .expect("token signed")
    }

    /// `GET /api/push/vapid-key/`.
    pub async fn vapid_key(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/api/push/vapid-key/", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/push/subscriptions/` with `Authorization: <authorization>` when given.
    pub async fn subscribe(&self, authorization: Option<&str>, body: &Value) -> reqwest::Response {
        let request = self
            .client
            .post(format!("{}/api/push/subscriptions/", self.address))
            .json(body);
        with_authorization(request, authorization)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/push/subscriptions/` as `owner`, expecting 201.
    pub async fn subscribe_as(&self, owner: UserId, body: &Value) {
        let response = self
            .subscribe(Some(&format!("Bearer {}", self.token(owner))), body)
            .await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
    }

    /// `DELETE /api/push/subscriptions/`.
    pub async fn unsubscribe(
        &self,
        authorization: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let request = self
            .client
            .delete(format!("{}/api/push/subscriptions/", self.address))
            .json(body);
        with_authorization(request, authorization)
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("a body")
    }

    /// Publishes chat events as chat-gateway's relay does, retrying while the broker
    /// refuses (e.g. while the app is still creating the stream).
    pub async fn publish(&self, events: &[Envelope]) {
        eventually("the events are published", || async {
            self.bus.publish_batch(events).await.ok()
        })
        .await;
    }

    /// Stops the app (its sends in flight finish) and waits until it has stopped.
    pub async fn shut_down(mut self) {
        self.stop.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(PATIENCE, handle)
                .await
                .expect("the app stops in time")
                .expect("the app task joins")
                .expect("the app stops cleanly");
        }
    }
}

fn with_authorization(
    request: reqwest::RequestBuilder,
    authorization: Option<&str>,
) -> reqwest::RequestBuilder {
    match authorization {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}
