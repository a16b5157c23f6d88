//! The harness: `spawn_app(Backend)` runs the real chat-gateway on port 0 against a fresh
//! database (Postgres paired with NATS under a random subject prefix, SQLite with the
//! in-process bus), `spawn_cluster(2)` runs two replicas on one database and prefix, and
//! `TestApp` gives access to what is behind the app (its store, bus and key ring).

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::sync::Arc;

use chat_gateway::{state::AppState, store::Owner, Application, Config};
use secrecy::SecretString;
use shared::{
    auth::{KeyRing, TokenType},
    config::{Backend, RateLimits},
    events::{
        catalog::AccountEvent,
        outbox::{OutboxStore, Relay},
        Envelope, EventBus, InProcessBus, NatsBus,
    },
    ids::UserId,
    testing::{init_test_tracing, nats_url, unique_prefix, TestDatabase},
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{eventually, PATIENCE};

/// A running gateway and what a test needs to talk to it and look behind it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// `ws://127.0.0.1:<port>`.
    pub ws_address: String,
    /// The app's state: its store and its hub of local sockets.
    pub state: AppState,
    /// The outbox relay, for tests that publish by hand.
    pub relay: Relay,
    /// A bus on the same broker and prefix as the app (the app's own one for SQLite).
    pub bus: Arc<dyn EventBus>,
    /// The NATS URL when the app runs on NATS.
    pub nats_url: Option<String>,
    /// The subject prefix (empty for the in-process bus).
    pub prefix: String,
    /// The key ring accounts-api would sign with; the gateway only verifies.
    pub keys: KeyRing,
    pub(super) client: reqwest::Client,
    stop: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    // Last: the app's pool points at it until the app is gone.
    db: Arc<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Where a replica gets its database and bus.
pub struct Placement {
    /// The database (shared by replicas).
    pub db: Arc<TestDatabase>,
    /// `Some((nats_url, prefix))` for NATS, `None` for a new in-process bus.
    pub nats: Option<(String, String)>,
    /// The JWT secret.
    pub secret: SecretString,
    /// The replica's name.
    pub replica_id: Option<String>,
}

fn new_secret() -> SecretString {
    SecretString::from(format!("test-secret-{}", uuid::Uuid::new_v4()))
}

/// The app with the suite's defaults (rate limits on, the shipped limits).
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// The app with `configure` applied on top of the defaults.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    init_test_tracing();
    let db = Arc::new(TestDatabase::create(backend).await);
    let nats = (backend == Backend::Postgres).then(|| (nats_url(), unique_prefix()));
    spawn_replica(
        Placement {
            db,
            nats,
            secret: new_secret(),
            replica_id: None,
        },
        configure,
    )
    .await
}

/// `n` replicas on one Postgres database and one NATS prefix, each with its own NATS
/// connection, named `replica-0`, `replica-1`, ...
pub async fn spawn_cluster(n: usize) -> Vec<TestApp> {
    init_test_tracing();
    let db = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let (url, prefix) = (nats_url(), unique_prefix());
    let secret = new_secret();
    let mut replicas = Vec::with_capacity(n);
    for i in 0..n {
        replicas.push(
            spawn_replica(
                Placement {
                    db: db.clone(),
                    nats: Some((url.clone(), prefix.clone())),
                    secret: secret.clone(),
                    replica_id: Some(format!("replica-{i}")),
                },
                |_| {},
            )
            .await,
        );
    }
    replicas
}

/// One gateway placed as told, serving once this returns (its owner projection subscribed).
pub async fn spawn_replica(placement: Placement, configure: impl FnOnce(&mut Config)) -> TestApp {
    init_test_tracing();
    let Placement {
        db,
        nats,
        secret,
        replica_id,
    } = placement;
    let mut config = Config::with(db.url().clone(), secret.clone());
    config.common.rate_limits = RateLimits::On;
    config.common.replica_id = replica_id;
    if let Some((url, prefix)) = &nats {
        config.common.nats_url = Some(url.clone());
        config.common.nats_subject_prefix = prefix.clone();
    }
    configure(&mut config);

    let stop = CancellationToken::new();
    let (application, bus, prefix) = match &nats {
        Some((url, prefix)) => {
            let application = Application::build(config).await.expect("the app builds");
            let bus: Arc<dyn EventBus> = Arc::new(
                NatsBus::connect(url, prefix)
                    .await
                    .expect("NATS must be running for Postgres tests"),
            );
            (application, bus, prefix.clone())
        }
        None => {
            let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
            let application = Application::build_with_bus(config, bus.clone())
                .await
                .expect("the app builds");
            (application, bus, String::new())
        }
    };
    let port = application.port();
    let state = application.service().state.clone();
    let relay = application.service().relay();
    let handle = tokio::spawn(application.run_until_stopped(stop.clone()));
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        ws_address: format!("ws://127.0.0.1:{port}"),
        state,
        relay,
        bus,
        nats_url: nats.map(|(url, _)| url),
        prefix,
        keys: KeyRing::new(&secret, &[]),
        client: reqwest::Client::new(),
        stop,
        handle: Some(handle),
        db,
    };
    // Serving starts after the owner projection has subscribed, so events published from
    // here on are seen even on the in-process bus, which keeps nothing for late joiners.
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

/// Publishes as a relay does: retrying while the broker refuses, e.g. while the app is still
/// creating the streams this bus also tries to create (NATS may then report an overlap).
pub async fn publish(bus: &dyn EventBus, envelopes: &[Envelope]) {
    eventually("the events are published", || async {
        bus.publish_batch(envelopes).await.ok()
    })
    .await;
}

impl TestApp {
    /// Events committed here and not yet published: the outbox's and the message log's.
    pub async fn unpublished(&self) -> Option<i64> {
        let outbox = self.state.db.outbox().backlog().await.ok()?;
        let log = self.state.store.message_log(String::new());
        Some(outbox + log.backlog().await.ok()?)
    }

    /// An access token for `user`, signed with the key accounts-api uses.
    pub fn access_token(&self, user: UserId) -> String {
        self.keys
            .signer()
            .sign(user, TokenType::Access, 3600)
            .expect("token signed")
    }

    /// A refresh token for `user` (never valid on the gateway).
    pub fn refresh_token(&self, user: UserId) -> String {
        self.keys
            .signer()
            .sign(user, TokenType::Refresh, 3600)
            .expect("token signed")
    }

    /// An access token for `user` that expires `lifetime_secs` from now.
    pub fn short_lived_token(&self, user: UserId, lifetime_secs: i64) -> String {
        self.keys
            .signer()
            .sign(user, TokenType::Access, lifetime_secs)
            .expect("token signed")
    }

    /// Moves a room's last activity `days` into the past, as if nobody had written since.
    /// Time travel has no public interface, so this writes the one column behind the app.
    pub async fn backdate_room_activity(&self, room: &str, days: i64) {
        let room = uuid::Uuid::parse_str(room).expect("a room id");
        let at = shared::time::now() - chrono::Duration::days(days);
        let url = self.db.url();
        let updated = match url.backend() {
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(url.expose())
                    .await
                    .expect("Postgres reachable");
                sqlx::query("update rooms set updated_at = $1 where id = $2")
                    .bind(at)
                    .bind(room)
                    .execute(&pool)
                    .await
                    .map(|done| done.rows_affected())
            }
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(url.expose())
                    .await
                    .expect("SQLite file opens");
                sqlx::query("update rooms set updated_at = ? where id = ?")
                    .bind(shared::time::to_micros(&at))
                    .bind(room)
                    .execute(&pool)
                    .await
                    .map(|done| done.rows_affected())
            }
        };
        assert_eq!(updated.expect("room updated"), 1);
    }

    /// An access token that has already expired.
    pub fn expired_token(&self, user: UserId) -> String {
        self.keys
            .signer()
            .sign(user, TokenType::Access, -60)
            .expect("token signed")
    }

    /// Stops the app (sockets get 1001) and waits until it has stopped.
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

    /// Publishes an account event as accounts-api's relay would.
    pub async fn publish_account_event(&self, event: &AccountEvent) {
        let row = event.to_outbox(shared::time::now());
        publish(self.bus.as_ref(), &[row.to_envelope(None)]).await;
    }

    /// Waits until the projection knows `id` at `version` or later.
    pub async fn wait_for_owner(&self, id: UserId, version: i64) -> Owner {
        eventually("the owner is projected", || async {
            self.state
                .store
                .find_owner(id)
                .await
                .expect("store answers")
                .filter(|o| o.version >= version)
        })
        .await
    }
}
