//! The harness: `spawn_app(Backend)` runs the real chat-gateway on port 0 against a fresh
//! database (Postgres paired with NATS under a random subject prefix, SQLite with the
//! in-process bus), `spawn_cluster(2)` runs two replicas on one database and prefix, and
//! `TestApp` has one method per endpoint plus `open_ws` for the socket. Nothing is shared
//! between tests: every test gets its own database, prefix, key and throttles.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use chat_gateway::{state::AppState, store::Owner, Application, Config};
use futures::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::{
    auth::{KeyRing, TokenType},
    config::{Backend, RateLimits},
    events::{
        catalog::{AccountEvent, UserSnapshot},
        outbox::Relay,
        Envelope, EventBus, InProcessBus, NatsBus,
    },
    ids::UserId,
    testing::{init_test_tracing, nats_url, unique_prefix, TestDatabase},
};
use tokio::{net::TcpStream, task::JoinHandle};
use tokio_tungstenite::{
    client_async,
    tungstenite::{self, protocol::CloseFrame, Message},
    WebSocketStream,
};
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen (an event, a frame, a projection).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How long a test listens to be sure something does *not* happen.
pub const QUIET: Duration = Duration::from_millis(400);

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
    client: reqwest::Client,
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

/// Polls `probe` until it yields a value, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `2026-11-24T22:57:04.418115Z`: `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`.
pub fn is_wire_timestamp(value: &Value) -> bool {
    const SHAPE: &str = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    value.as_str().is_some_and(|s| {
        s.len() == SHAPE.len()
            && s.chars()
                .zip(SHAPE.chars())
                .all(|(c, p)| if p == 'd' { c.is_ascii_digit() } else { c == p })
    })
}

/// Whether `value` is a UUID string.
pub fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// The owner body of a 401 without credentials.
pub fn not_authenticated() -> Value {
    json!({"detail": "Authentication credentials were not provided."})
}

/// The body of a 403.
pub fn permission_denied() -> Value {
    json!({"detail": "You do not have permission to perform this action."})
}

/// The 403 body of a visitor token whose room has been idle too long.
pub fn chat_expired() -> Value {
    json!({"detail": "This chat has expired."})
}

/// The status and the JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// The body of a 404.
pub fn not_found() -> Value {
    json!({"detail": "Not found."})
}

/// Who calls an endpoint or opens a socket.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials at all.
    None,
    /// `Authorization: Bearer` / `?token=`.
    Owner(String),
    /// `?visitor=`.
    Visitor(String),
}

/// A known owner: its id and an access token accounts-api would have issued.
#[derive(Debug, Clone)]
pub struct TestOwner {
    /// The owner's (sticker's) id.
    pub id: UserId,
    /// A valid access token.
    pub token: String,
}

impl TestOwner {
    /// An owner written straight into the projection (for tests not about the projection).
    pub async fn registered(app: &TestApp) -> Self {
        Self::stored(app, true, true).await
    }

    /// An owner in the projection with the given flags.
    pub async fn stored(app: &TestApp, is_registered: bool, is_profile_public: bool) -> Self {
        let owner = Self::unknown(app);
        app.state
            .store
            .upsert_owner(&Owner {
                id: owner.id,
                is_registered,
                is_profile_public,
                version: 1,
            })
            .await
            .expect("owner stored");
        owner
    }

    /// An owner the gateway has never heard of, with a perfectly valid token.
    pub fn unknown(app: &TestApp) -> Self {
        let id = UserId::new_random();
        Self {
            id,
            token: app.access_token(id),
        }
    }

    /// As an owner credential.
    pub fn auth(&self) -> Auth {
        Auth::Owner(self.token.clone())
    }
}

/// A room a visitor has opened.
#[derive(Debug, Clone)]
pub struct StartedChat {
    /// The room id.
    pub room_id: String,
    /// The visitor's credential.
    pub visitor_token: String,
}

impl StartedChat {
    /// As a visitor credential.
    pub fn visitor(&self) -> Auth {
        Auth::Visitor(self.visitor_token.clone())
    }
}

/// A registration snapshot as accounts-api would publish it.
pub fn snapshot(
    id: UserId,
    is_registered: bool,
    is_profile_public: bool,
    version: i64,
) -> UserSnapshot {
    UserSnapshot {
        id,
        is_registered,
        is_profile_public,
        full_name: "Ali Valiyev".into(),
        car_model: "Cobalt".into(),
        car_plate_number: "01A123BC".into(),
        version,
    }
}

impl TestApp {
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

    /// A request to `path`, for cases the endpoint methods do not cover.
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

    /// `POST /api/chat/start/` with a JSON body.
    pub async fn start_chat(&self, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/chat/start/")
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/chat/start/` with `owner`, as an ingress forwarding for `forwarded_for`.
    pub async fn start_chat_forwarded_for(
        &self,
        owner: &TestOwner,
        forwarded_for: &str,
    ) -> reqwest::Response {
        self.request(reqwest::Method::POST, "/api/chat/start/")
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"user_id": owner.id.to_string()}))
            .send()
            .await
            .expect("request sent")
    }

    /// Starts a chat with `owner` and checks it worked.
    pub async fn start_chat_with(&self, owner: &TestOwner) -> StartedChat {
        let response = self
            .start_chat(&json!({"user_id": owner.id.to_string()}))
            .await;
        assert_eq!(response.status(), 201, "chat starts");
        let body: Value = response.json().await.expect("JSON body");
        StartedChat {
            room_id: body["room_id"].as_str().expect("room_id").to_owned(),
            visitor_token: body["visitor_token"]
                .as_str()
                .expect("visitor_token")
                .to_owned(),
        }
    }

    /// `GET /api/chat/rooms/` as `auth`.
    pub async fn list_rooms(&self, auth: &Auth) -> reqwest::Response {
        self.list_rooms_if_none_match(auth, None).await
    }

    /// `GET /api/chat/rooms/` with `If-None-Match`.
    pub async fn list_rooms_if_none_match(
        &self,
        auth: &Auth,
        etag: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.request(reqwest::Method::GET, "/api/chat/rooms/");
        if let Auth::Owner(token) = auth {
            request = request.bearer_auth(token);
        }
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        request.send().await.expect("request sent")
    }

    /// The owner's rooms as JSON, checking the call worked.
    pub async fn rooms_of(&self, owner: &TestOwner) -> Vec<Value> {
        let response = self.list_rooms(&owner.auth()).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("JSON list")
    }

    /// `GET /api/chat/rooms/<room>/messages/` as `auth`, with extra query pairs.
    pub async fn list_messages(
        &self,
        room: &str,
        auth: &Auth,
        query: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.request(
            reqwest::Method::GET,
            &format!("/api/chat/rooms/{room}/messages/"),
        );
        match auth {
            Auth::None => {}
            Auth::Owner(token) => request = request.bearer_auth(token),
            Auth::Visitor(token) => request = request.query(&[("visitor", token)]),
        }
        request.query(query).send().await.expect("request sent")
    }

    /// A room's history as JSON, checking the call worked.
    pub async fn history(&self, room: &str, auth: &Auth) -> Vec<Value> {
        let response = self.list_messages(room, auth, &[]).await;
        assert_eq!(response.status(), 200, "history readable");
        response.json().await.expect("JSON list")
    }

    /// The socket URL of `room` for `auth`, under `/ws/` or `/back/ws/`.
    pub fn ws_url(&self, base_path: &str, room: &str, auth: &Auth) -> String {
        let query = match auth {
            Auth::None => String::new(),
            Auth::Owner(token) => format!("?token={token}"),
            Auth::Visitor(token) => format!("?visitor={token}"),
        };
        format!("{}{base_path}{room}/{query}", self.ws_address)
    }

    /// Opens `/ws/chat/<room>/` as `auth`; panics when refused.
    pub async fn open_ws(&self, room: &str, auth: &Auth) -> WsClient {
        WsClient::connect(&self.ws_url("/ws/chat/", room, auth), None)
            .await
            .unwrap_or_else(|status| panic!("handshake refused with {status}"))
    }

    /// The HTTP status a handshake to `url` gets: 101 when upgraded.
    pub async fn handshake_status(&self, url: &str) -> u16 {
        match WsClient::connect(url, None).await {
            Ok(_) => 101,
            Err(status) => status,
        }
    }

    /// Sends `texts` on a fresh socket, one after another, and returns the broadcast frames.
    pub async fn chat(&self, room: &str, auth: &Auth, texts: &[&str]) -> Vec<Value> {
        let mut socket = self.open_ws(room, auth).await;
        let mut frames = Vec::with_capacity(texts.len());
        for text in texts {
            socket.send_message(text).await;
            let frame = socket.next_json().await;
            assert_eq!(
                frame["message"], *text,
                "the echo of what was sent: {frame}"
            );
            frames.push(frame);
        }
        socket.close().await;
        frames
    }
}

/// A WebSocket client.
pub struct WsClient {
    socket: WebSocketStream<TcpStream>,
}

/// What a socket read ended with.
#[derive(Debug)]
pub enum Ending {
    /// A close frame (code, reason).
    Closed(Option<(u16, String)>),
    /// The connection ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects to `url`; `receive_buffer` shrinks the TCP receive window (slow readers).
    /// `Err(status)` when the handshake was refused.
    pub async fn connect(url: &str, receive_buffer: Option<u32>) -> Result<Self, u16> {
        let authority = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("an authority");
        let addr: SocketAddr = authority.parse().expect("host:port");
        let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = receive_buffer {
            tcp.set_recv_buffer_size(size).expect("receive buffer set");
        }
        let stream = tcp.connect(addr).await.expect("TCP connects");
        match client_async(url, stream).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("handshake failed: {e}"),
        }
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("frame sent");
    }

    /// Sends `{"message": text}`.
    pub async fn send_message(&mut self, text: &str) {
        self.send_text(&json!({ "message": text }).to_string())
            .await;
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket
            .send(Message::binary(bytes))
            .await
            .expect("frame sent");
    }

    /// The next frame that is not a ping or pong, or `None` after `within`.
    pub async fn next_frame(
        &mut self,
        within: Duration,
    ) -> Option<Result<Message, tungstenite::Error>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(other) => return Some(other),
                None => return Some(Err(tungstenite::Error::ConnectionClosed)),
            }
        }
    }

    /// The next text frame as JSON; fails the test on anything else or after [`PATIENCE`].
    pub async fn next_json(&mut self) -> Value {
        match self.next_frame(PATIENCE).await {
            Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("a JSON frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Fails the test when a text frame arrives within [`QUIET`].
    pub async fn expect_silence(&mut self) {
        if let Some(frame) = self.next_frame(QUIET).await {
            panic!("expected no frame, got {frame:?}");
        }
    }

    /// Reads until the connection ends; returns the text frames seen and how it ended.
    pub async fn read_to_end(&mut self, within: Duration) -> (Vec<Value>, Ending) {
        let mut frames = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(&text).expect("a JSON frame"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return (
                        frames,
                        Ending::Closed(frame.map(|CloseFrame { code, reason }| {
                            (u16::from(code), reason.to_string())
                        })),
                    );
                }
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(_)) => return (frames, Ending::Dropped),
                None => panic!("the socket is still open after {within:?}"),
            }
        }
    }

    /// Closes from the client side and waits for the server's answer.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        let _ = tokio::time::timeout(PATIENCE, async {
            while self.socket.next().await.is_some() {}
        })
        .await;
    }

    /// Splits into a sending half and a task that collects every text frame received.
    pub fn split_collecting(self) -> (WsSender, Collector) {
        let (sink, mut stream) = self.socket.split();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let handle = tokio::spawn(async move {
            let mut frames = Vec::new();
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    frames.push(serde_json::from_str(&text).expect("a JSON frame"));
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
            frames
        });
        (WsSender { sink }, Collector { count, handle })
    }
}

/// The receiving half of a split socket, collecting text frames in a task.
pub struct Collector {
    count: Arc<AtomicUsize>,
    handle: JoinHandle<Vec<Value>>,
}

impl Collector {
    /// Text frames received so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Every text frame, once the socket has ended.
    pub async fn frames(self) -> Vec<Value> {
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("the socket ends")
            .expect("the collector joins")
    }
}

/// The sending half of a split socket.
pub struct WsSender {
    sink: futures::stream::SplitSink<WebSocketStream<TcpStream>, Message>,
}

impl WsSender {
    /// Sends `{"message": text}`.
    pub async fn send_message(&mut self, text: &str) {
        self.sink
            .send(Message::text(json!({ "message": text }).to_string()))
            .await
            .expect("frame sent");
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.sink.close().await;
    }
}

/// The JetStream stream name of the chat events under `prefix`: the prefix uppercased, every
/// other character `_`, then `CHAT`.
pub fn chat_stream_name(prefix: &str) -> String {
    let upper: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{upper}CHAT")
}

/// One event as a JetStream consumer saw it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The subject without the prefix.
    pub subject: String,
    /// `Nats-Msg-Id`.
    pub msg_id: Option<String>,
    /// The JSON document.
    pub document: Value,
}

/// The `Nats-Msg-Id` header. Received headers use async-nats' standard name, which a plain
/// string key does not match, hence the constant.
pub fn nats_msg_id(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    headers
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_owned())
}

/// Every event of the chat stream under `prefix`, read by a fresh JetStream consumer.
pub async fn chat_stream_events(nats_url: &str, prefix: &str) -> Vec<StoredEvent> {
    use async_nats::jetstream::{self, consumer::pull};

    let client = async_nats::connect(nats_url).await.expect("NATS reachable");
    let js = jetstream::new(client);
    let stream = js
        .get_stream(chat_stream_name(prefix))
        .await
        .expect("the chat stream exists");
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            filter_subject: format!("{prefix}chat.>"),
            ..Default::default()
        })
        .await
        .expect("consumer created");
    let mut events = Vec::new();
    loop {
        let mut batch = consumer
            .batch()
            .max_messages(500)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .expect("batch requested");
        let mut got = 0;
        while let Some(message) = batch.next().await {
            let message = message.expect("message received");
            got += 1;
            let msg_id = nats_msg_id(message.headers.as_ref());
            events.push(StoredEvent {
                subject: message
                    .subject
                    .as_str()
                    .trim_start_matches(prefix)
                    .to_owned(),
                msg_id,
                document: serde_json::from_slice(&message.payload).expect("a JSON document"),
            });
            message.ack().await.expect("acked");
        }
        if got == 0 {
            return events;
        }
    }
}

/// How many times each value occurs.
pub fn tally<'a>(values: impl IntoIterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for v in values {
        *counts.entry(v.to_owned()).or_insert(0) += 1;
    }
    counts
}

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
