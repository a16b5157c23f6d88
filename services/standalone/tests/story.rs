//! The embedded default end to end, through its public interfaces only: the `carinfo` CLI
//! issues a sticker, HTTP registers and logs in, a visitor and the owner chat over WebSockets,
//! and the history, web client, docs and metrics are served from the same port.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{process::Command, time::Duration};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message};
use tokio_util::sync::CancellationToken;

struct Running {
    base: String,
    ws_base: String,
    /// The operations listener: `/readyz` and `/metrics`.
    ops_base: String,
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(data_dir: &std::path::Path) -> Running {
    let stop = CancellationToken::new();
    let mut config = standalone::Config::for_data_dir(data_dir.to_path_buf());
    config.ops_listen_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    // The push service of the push test listens on loopback.
    config.push_allow_private_endpoints = true;
    let bundle = standalone::Bundle::build(config)
        .await
        .expect("bundle builds");
    let port = bundle.port();
    let ops_port = bundle.ops_port().expect("an operations port");
    let handle = tokio::spawn(bundle.run_until_stopped(stop.clone()));
    Running {
        base: format!("http://127.0.0.1:{port}"),
        ws_base: format!("ws://127.0.0.1:{port}"),
        ops_base: format!("http://127.0.0.1:{ops_port}"),
        stop,
        handle,
    }
}

impl Running {
    /// Activates `sticker` with `body` (201 expected), then logs in as `phone`; the login body.
    async fn register_and_log_in(&self, http: &reqwest::Client, body: Value, phone: &str) -> Value {
        let registered = http
            .post(format!("{}/api/user/register/", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 201);
        http.post(format!("{}/api/login/", self.base))
            .json(&json!({"phone_number": phone, "password": "secret123"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn shut_down(self) {
        self.stop.cancel();
        self.handle.await.expect("joined").expect("clean shutdown");
    }
}

fn issue_sticker(data_dir: &std::path::Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_carinfo"))
        .args(["stickers", "issue", "--count", "1"])
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "off")
        .output()
        .expect("carinfo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the id on stdout: {stdout:?}");
    lines[0].to_owned()
}

async fn next_json(
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket open")
            .expect("frame ok");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn a_visitor_and_an_owner_chat_on_the_embedded_default() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path()).await;
    let sticker = issue_sticker(data.path());
    let http = reqwest::Client::new();

    // Act: the owner activates the sticker and logs in.
    let login = app
        .register_and_log_in(
            &http,
            json!({"user_id": sticker, "phone_number": "+998 90 111 22 33", "password": "secret123", "car_model": "Cobalt"}),
            "+998901112233",
        )
        .await;
    let access = login["tokens"]["access"].as_str().unwrap().to_owned();

    // A visitor starts a chat (the owner projection is fed through the in-process bus).
    let mut started = None;
    for _ in 0..50 {
        let response = http
            .post(format!("{}/api/chat/start/", app.base))
            .json(&json!({"user_id": sticker, "visitor_name": "Neighbour"}))
            .send()
            .await
            .unwrap();
        if response.status() == 201 {
            started = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = started.expect("chat starts once the owner is projected");
    let room = started["room_id"].as_str().unwrap();
    let visitor_token = started["visitor_token"].as_str().unwrap();
    assert_eq!(started["ws_path"], format!("/ws/chat/{room}/"));

    let (mut visitor, _) = connect_async(format!(
        "{}/ws/chat/{room}/?visitor={visitor_token}",
        app.ws_base
    ))
    .await
    .unwrap();
    let (mut owner, _) = connect_async(format!(
        "{}/back/ws/chat/{room}/?token={access}",
        app.ws_base
    ))
    .await
    .unwrap();
    visitor
        .send(Message::text(r#"{"message":"Salom"}"#))
        .await
        .unwrap();
    let at_visitor = next_json(&mut visitor).await;
    let at_owner = next_json(&mut owner).await;
    owner
        .send(Message::text(r#"{"message":"Coming"}"#))
        .await
        .unwrap();
    let reply_at_visitor = next_json(&mut visitor).await;

    // Assert
    assert_eq!(at_visitor, at_owner);
    assert_eq!(at_owner["sender_type"], "visitor");
    assert_eq!(at_owner["message"], "Salom");
    assert_eq!(reply_at_visitor["sender_type"], "owner");
    let history: Value = http
        .get(format!(
            "{}/api/chat/rooms/{room}/messages/?visitor={visitor_token}",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history[0]["id"], at_owner["id"]);
    assert_eq!(history[0]["content"], "Salom");
    assert_eq!(history[1]["content"], "Coming");
    let rooms: Value = http
        .get(format!("{}/api/chat/rooms/", app.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rooms[0]["id"], room);
    assert_eq!(rooms[0]["visitor_name"], "Neighbour");
    app.shut_down().await;
}

#[tokio::test]
async fn the_signing_key_and_data_survive_a_restart() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let sticker = issue_sticker(data.path());
    let http = reqwest::Client::new();
    let app = start(data.path()).await;
    let login = app
        .register_and_log_in(
            &http,
            json!({"user_id": sticker, "phone_number": "+998901234500", "password": "secret123"}),
            "+998901234500",
        )
        .await;
    app.shut_down().await;

    // Act
    let app = start(data.path()).await;
    let profile = http
        .get(format!("{}/api/profile/", app.base))
        .bearer_auth(login["tokens"]["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(profile.status(), 200);
    assert_eq!(profile.json::<Value>().await.unwrap()["id"], sticker);
    assert!(data.path().join("jwt_secret").exists());
    app.shut_down().await;
}

#[tokio::test]
async fn the_web_client_docs_and_operations_are_served() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path()).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", app.base)).send();

    // Act + Assert
    for (path, needle) in [
        ("/u/7f0c0b8e-8a3e-4c55-9d4b-0f5a3c1d2e3f", "<html"),
        ("/app/", "<html"),
        ("/api/docs/", "swagger"),
        ("/api/redoc/", "redoc"),
        ("/api/asyncapi/", "asyncapi: 3.0.0"),
        ("/healthz", "ok"),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.to_lowercase().contains(needle), "{path}");
        assert!(
            !body.contains("cdn.") && !body.contains("unpkg.com"),
            "{path} must not load from a CDN"
        );
    }
    let schema: Value = get("/api/schema/").await.unwrap().json().await.unwrap();
    for path in [
        "/api/user/register/",
        "/api/login/",
        "/api/token/refresh/",
        "/api/profile/",
        "/api/users/",
        "/user/{user_id}/",
        "/api/chat/start/",
        "/api/chat/rooms/",
        "/api/chat/rooms/{room_id}/messages/",
        "/ws/chat/{room_id}/",
    ] {
        assert!(schema["paths"].get(path).is_some(), "{path} documented");
    }
    for path in ["/readyz", "/metrics"] {
        let public = get(path).await.unwrap();
        assert_eq!(public.status(), 404, "{path} is not on the public port");
    }
    for (path, needle) in [
        ("/readyz", "ready"),
        ("/metrics", "http_requests_total"),
        ("/healthz", "ok"),
    ] {
        let response = http
            .get(format!("{}{path}", app.ops_base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
    let unknown = get("/nope").await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"detail": "Not found."})
    );
    app.shut_down().await;
}

#[tokio::test]
async fn metrics_move_when_traffic_flows() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path()).await;
    let http = reqwest::Client::new();
    let count = |text: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("http_requests_total") && l.contains("route=\"/api/users/\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let before = count(
        &http
            .get(format!("{}/metrics", app.ops_base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );

    // Act
    for _ in 0..3 {
        http.get(format!("{}/api/users/", app.base))
            .send()
            .await
            .unwrap();
    }

    // Assert
    let after_text = http
        .get(format!("{}/metrics", app.ops_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(count(&after_text) >= before + 3.0, "{after_text}");
    assert!(after_text.contains("http_request_duration_seconds"));
    app.shut_down().await;
}

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .unwrap();
    let generated = standalone::openapi::merged_json().unwrap();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `cargo run -p standalone -- print-openapi > docs/openapi.json`"
    );
}

/// A push service on a local port: the headers of every request it receives.
async fn push_service() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<axum::http::HeaderMap>>>,
) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    let router = axum::Router::new().route(
        "/push/phone",
        axum::routing::post(move |headers: axum::http::HeaderMap| async move {
            log.lock().unwrap().push(headers);
            axum::http::StatusCode::CREATED
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push/phone", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

#[tokio::test]
async fn an_owner_subscribed_to_push_notifications_hears_of_a_new_chat() {
    // Arrange
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path()).await;
    let sticker = issue_sticker(data.path());
    let http = reqwest::Client::new();
    let login = app
        .register_and_log_in(
            &http,
            json!({"user_id": sticker, "phone_number": "+998901234511", "password": "secret123"}),
            "+998901234511",
        )
        .await;
    let access = login["tokens"]["access"].as_str().unwrap().to_owned();
    let (endpoint, received) = push_service().await;
    let key: Value = http
        .get(format!("{}/api/push/vapid-key/", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["public_key"].as_str().unwrap().to_owned();
    // The browser keys of RFC 8291's example.
    let subscribed = http
        .post(format!("{}/api/push/subscriptions/", app.base))
        .bearer_auth(&access)
        .json(&json!({"endpoint": endpoint, "expirationTime": null, "keys": {
            "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "auth": "BTBZMqHH6r4Tts7J_aSIgg",
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 201);

    // Act: a visitor opens a chat (once the owner is projected).
    let mut started = false;
    for _ in 0..50 {
        let response = http
            .post(format!("{}/api/chat/start/", app.base))
            .json(&json!({"user_id": sticker, "visitor_name": "Neighbour"}))
            .send()
            .await
            .unwrap();
        if response.status() == 201 {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started, "the chat starts");

    // Assert: the notifier, in the same process on the same bus, sent one push request.
    let mut headers = None;
    for _ in 0..100 {
        headers = received.lock().unwrap().first().cloned();
        if headers.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let headers = headers.expect("a push request within 10 s");
    assert_eq!(headers["content-encoding"], "aes128gcm");
    let authorization = headers["authorization"].to_str().unwrap();
    assert!(authorization.starts_with("vapid t="), "{authorization}");
    assert!(
        authorization.ends_with(&format!(", k={key}")),
        "{authorization}"
    );
    assert!(data.path().join("vapid_private_key").exists());
    app.shut_down().await;
}
