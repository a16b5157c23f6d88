//! The harness: `spawn_app(Backend)` runs the real accounts-api on port 0 against a fresh
//! database (Postgres paired with NATS under a random subject prefix, SQLite with the
//! in-process bus), and `TestApp` has one method per endpoint. It must not share state
//! between tests: every test gets its own database, prefix and throttles.

use std::{net::TcpListener, path::Path, process::Child, sync::Arc, time::Duration};

use accounts_api::{store::AccountStore, Application, Config};
use futures::{stream::BoxStream, StreamExt};
use rand::Rng;
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::{
    auth::{KeyRing, TokenType},
    config::{Backend, RateLimits},
    events::{outbox::Relay, Envelope, EventBus, InProcessBus, NatsBus},
    ids::UserId,
    testing::{init_test_tracing, nats_url, unique_prefix, TestDatabase},
};
use tokio_util::sync::CancellationToken;

/// The password every fixture owner uses.
pub const PASSWORD: &str = "secret123";

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
    client: reqwest::Client,
    stop: CancellationToken,
    // Dropped last: the app's pool still points at it until then.
    db: TestDatabase,
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
    let db = TestDatabase::create(backend).await;
    let secret = SecretString::from(format!("test-secret-{}", uuid::Uuid::new_v4()));
    let mut config = Config::with(db.url().clone(), secret.clone());
    // Argon2's cost does not matter to these tests; its correctness does.
    config.argon2_memory_kib = 1024;
    config.argon2_iterations = 1;
    config.common.rate_limits = RateLimits::On;
    if backend == Backend::Postgres {
        config.common.nats_url = Some(nats_url());
        config.common.nats_subject_prefix = unique_prefix();
    }
    configure(&mut config);

    let (application, bus, nats) = match backend {
        Backend::Postgres => {
            let url = config
                .common
                .nats_url
                .clone()
                .expect("Postgres runs with NATS");
            let nats = NatsBus::connect(&url, &config.common.nats_subject_prefix)
                .await
                .expect("NATS must be running for Postgres tests");
            let application = Application::build(config.clone())
                .await
                .expect("the app builds");
            let bus: Arc<dyn EventBus> = Arc::new(nats.clone());
            (application, bus, Some(nats))
        }
        Backend::Sqlite => {
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
    let relay = application.service().relay();
    let stop = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(stop.clone()));

    TestApp {
        address,
        store,
        database,
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

    /// A request to `path` on the app, for the odd cases the endpoint methods do not cover.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with any bytes and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        bytes: impl Into<Vec<u8>>,
    ) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes.into())
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/user/register/`.
    pub async fn register(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/user/register/", body).await
    }

    /// `POST /api/login/`.
    pub async fn login(&self, phone_number: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/login/",
            &json!({"phone_number": phone_number, "password": password}),
        )
        .await
    }

    /// `POST /api/login/` from another address on this host (all of 127.0.0.0/8 is loopback),
    /// as a client elsewhere would.
    pub async fn login_from(
        &self,
        source: [u8; 4],
        phone_number: &str,
        password: &str,
    ) -> reqwest::Response {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(source))
            .build()
            .expect("a client")
            .post(format!("{}/api/login/", self.address))
            .json(&json!({"phone_number": phone_number, "password": password}))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/token/refresh/`.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/token/refresh/", &json!({"refresh": refresh_token}))
            .await
    }

    /// `POST /api/token/blacklist/` (logout).
    pub async fn blacklist(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/token/blacklist/", &json!({"refresh": refresh_token}))
            .await
    }

    /// `POST /api/login/` for `owner` again: a second login, with tokens of its own.
    pub async fn login_again(&self, owner: &TestOwner) -> (String, String) {
        let body = body_json(self.login(&owner.phone, &owner.password).await).await;
        let token = |kind: &str| {
            body["tokens"][kind]
                .as_str()
                .expect("a token from login")
                .to_owned()
        };
        (token("access"), token("refresh"))
    }

    /// `GET /api/profile/` with `Authorization: Bearer <token>`.
    pub async fn get_profile(&self, access_token: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, "/api/profile/")
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// `PUT /api/profile/`.
    pub async fn put_profile(&self, access_token: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::PUT, "/api/profile/")
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `PATCH /api/profile/`.
    pub async fn patch_profile(&self, access_token: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, "/api/profile/")
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /api/users/`.
    pub async fn list_users(&self) -> reqwest::Response {
        self.get("/api/users/").await
    }

    /// `GET /user/<id>/`.
    pub async fn get_public_user(&self, id: &str) -> reqwest::Response {
        self.get(&format!("/user/{id}/")).await
    }

    /// `GET /api/stickers/<id>/`.
    pub async fn get_sticker(&self, id: &str) -> reqwest::Response {
        self.get(&format!("/api/stickers/{id}/")).await
    }

    /// Publishes every committed event and waits until the outbox is empty, so a test can
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

/// A phone number no other test uses: `+99890` and seven random digits.
pub fn unique_phone() -> String {
    format!("+99890{:07}", rand::thread_rng().gen_range(0..10_000_000))
}

/// The same number written the way owners type it: `+998 90 123-45-67`.
pub fn spaced(phone: &str) -> String {
    let d = phone.trim_start_matches('+');
    format!(
        "+{} {} {}-{}-{}",
        &d[0..3],
        &d[3..5],
        &d[5..8],
        &d[8..10],
        &d[10..12]
    )
}

/// The smallest valid registration body.
pub fn registration(user_id: UserId, phone_number: &str) -> Value {
    json!({
        "user_id": user_id.to_string(),
        "phone_number": phone_number,
        "password": PASSWORD,
    })
}

/// The owner object of the wire conventions for a user who filled in nothing optional.
pub fn bare_owner(id: UserId, phone_number: &str) -> Value {
    json!({
        "id": id.to_string(),
        "phone_number": phone_number,
        "full_name": "",
        "phone_number_2": "",
        "car_model": "",
        "car_plate_number": "",
        "instagram": "",
        "telegram": "",
        "whatsapp": "",
        "is_profile_public": true,
    })
}

/// The response body as JSON (every body of this API is JSON).
pub async fn body_json(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("body read");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The status and the JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, body_json(response).await)
}

/// A registered owner with tokens from a real login.
pub struct TestOwner {
    /// Sticker / user id.
    pub id: UserId,
    /// E.164 login phone.
    pub phone: String,
    /// Login password.
    pub password: String,
    /// Access token from login.
    pub access: String,
    /// Refresh token from login.
    pub refresh: String,
}

impl TestOwner {
    /// Issues a sticker, registers it with a unique phone and logs in.
    pub async fn registered(app: &TestApp) -> Self {
        Self::registered_with(app, json!({})).await
    }

    /// Like [`Self::registered`], with extra registration fields.
    pub async fn registered_with(app: &TestApp, extra: Value) -> Self {
        let id = app.sticker().await;
        let phone = unique_phone();
        let mut body = registration(id, &phone);
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let response = app.register(&body).await;
        assert_eq!(response.status().as_u16(), 201, "fixture registration");
        let login = body_json(app.login(&phone, PASSWORD).await).await;
        Self {
            id,
            phone,
            password: PASSWORD.to_owned(),
            access: login["tokens"]["access"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh: login["tokens"]["refresh"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A `nats-server -js` child process of this test, killed on drop.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
}

impl NatsServer {
    /// Starts JetStream NATS on `port` with its store in `store_dir`, and waits until it listens.
    pub async fn start(port: u16, store_dir: &Path) -> Self {
        let child = std::process::Command::new("/usr/sbin/nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let server = Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not start listening on {port}");
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
