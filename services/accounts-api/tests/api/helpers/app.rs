//! The harness: `spawn_app(Backend)` runs the real accounts-api on port 0 against a fresh
//! database (Postgres paired with NATS under a random subject prefix, SQLite with the
//! in-process bus), `spawn_replica_of(&app)` a second one beside it, and `TestApp` gives
//! access to what is behind it: its store, outbox relay, bus, key ring and profile cache.

use std::{sync::Arc, time::Duration};

use accounts_api::{profile_cache::PublicProfileCache, store::AccountStore, Application, Config};
use futures::{stream::BoxStream, StreamExt};
use secrecy::SecretString;
use shared::{
    auth::{KeyRing, TokenType},
    config::{Backend, RateLimits},
    events::{outbox::Relay, Envelope, EventBus, InProcessBus, NatsBus},
    ids::UserId,
    testing::{init_test_tracing, nats_url, unique_prefix, TestDatabase},
};
use tokio_util::sync::CancellationToken;

/// How long a test waits for an event before failing.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A running accounts-api and what a test needs to talk to it and look behind it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The storage the app uses (to issue stickers, as the operator CLI does).
    pub store: Arc<dyn AccountStore>,
    /// Its database, for the outbox backlog.
    pub database: shared::db::Database,
    /// Its public-profile cache, to see what it holds.
    pub profiles: Arc<PublicProfileCache>,
    /// The outbox relay, for tests that publish by hand.
    pub relay: Relay,
    /// A bus on the same broker and prefix as the app, for subscribing to its events.
    pub bus: Arc<dyn EventBus>,
    /// The NATS side of `bus` when the backend is Postgres.
    pub nats: Option<NatsBus>,
    /// The key ring the app signs with, so tests can mint expired or odd tokens.
    pub keys: KeyRing,
    /// The app's configuration.
    pub config: Config,
    pub(super) client: reqwest::Client,
    stop: CancellationToken,
    // Dropped last, with the last replica on it: their pools point at it until then.
    db: Arc<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The app with the suite's defaults: cheap argon2, rate limits on.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// The app with `configure` applied on top of the suite's defaults.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    init_test_tracing();
    let db = Arc::new(TestDatabase::create(backend).await);
    let secret = SecretString::from(format!("test-secret-{}", uuid::Uuid::new_v4()));
    let mut config = Config::with(db.url().clone(), secret);
    // Argon2's cost does not matter to these tests; its correctness does.
    config.argon2_memory_kib = 1024;
    config.argon2_iterations = 1;
    config.common.rate_limits = RateLimits::On;
    if backend == Backend::Postgres {
        config.common.nats_url = Some(nats_url());
        config.common.nats_subject_prefix = unique_prefix();
    }
    configure(&mut config);
    start(db, config).await
}

/// A second replica of `app` (Postgres and NATS only): its database, signing key, NATS
/// server and subject prefix, with `configure` applied on top.
pub async fn spawn_replica_of(app: &TestApp, configure: impl FnOnce(&mut Config)) -> TestApp {
    assert!(
        app.nats.is_some(),
        "replicas share a database and a bus: Postgres and NATS"
    );
    let mut config = app.config.clone();
    config.common.replica_id = None;
    configure(&mut config);
    start(app.db.clone(), config).await
}

/// Runs the app `config` describes: on NATS when it names a server, else on an in-process bus.
async fn start(db: Arc<TestDatabase>, config: Config) -> TestApp {
    let (application, bus, nats) = match &config.common.nats_url {
        Some(url) => {
            let nats = NatsBus::connect(url, &config.common.nats_subject_prefix)
                .await
                .expect("NATS must be running for Postgres tests");
            let application = Application::build(config.clone())
                .await
                .expect("the app builds");
            let bus: Arc<dyn EventBus> = Arc::new(nats.clone());
            (application, bus, Some(nats))
        }
        None => {
            let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new());
            let application = Application::build_with_bus(config.clone(), bus.clone())
                .await
                .expect("the app builds");
            (application, bus, None)
        }
    };
    let address = format!("http://127.0.0.1:{}", application.port());
    let store = application.service().state.store.clone();
    let database = application.service().state.db.clone();
    let profiles = application.service().state.public_profiles.clone();
    let relay = application.service().relay();
    let stop = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(stop.clone()));
    let secret = config
        .common
        .jwt_secret
        .clone()
        .expect("the suite always sets a signing key");

    TestApp {
        address,
        store,
        database,
        profiles,
        relay,
        bus,
        nats,
        keys: KeyRing::new(&secret, &[]),
        config,
        client: reqwest::Client::new(),
        stop,
        db,
    }
}
impl TestApp {
    /// The database the app runs on, for the operator CLI.
    pub fn database_url(&self) -> String {
        self.db.url().expose().to_owned()
    }

    /// subscribe knowing that nothing older is still on its way.
    pub async fn wait_for_empty_outbox(&self) {
        for _ in 0..500 {
            // The background relay may hold a batch right now; then this finds nothing.
            self.relay.publish_all().await.expect("outbox published");
            if self
                .database
                .outbox()
                .backlog()
                .await
                .expect("backlog counted")
                == 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the outbox did not drain");
    }

    /// Issues one unregistered sticker, as the operator's CLI does.
    pub async fn sticker(&self) -> UserId {
        let id = UserId::new_random();
        self.store
            .insert_stickers(&[id])
            .await
            .expect("sticker issued");
        id
    }

    /// A token the app would accept (or refuse: lifetime 0 is already expired).
    pub fn mint(&self, user: UserId, token_type: TokenType, lifetime_secs: i64) -> String {
        self.keys
            .signer()
            .sign(user, token_type, lifetime_secs)
            .expect("token signed")
    }

    /// Live events matching `filter` from now on, on the app's broker.
    pub async fn subscribe(&self, filter: &str) -> BoxStream<'static, Envelope> {
        let stream = self.bus.subscribe(filter).await.expect("subscribed");
        if let Some(nats) = &self.nats {
            // The subscription must reach the server before the app publishes.
            nats.client().flush().await.expect("NATS flushed");
        }
        stream
    }
}

/// The next event on `events`, or a failure after [`EVENT_TIMEOUT`].
pub async fn next_event(events: &mut BoxStream<'static, Envelope>) -> Envelope {
    tokio::time::timeout(EVENT_TIMEOUT, events.next())
        .await
        .expect("an event arrives in time")
        .expect("the event stream stays open")
}
