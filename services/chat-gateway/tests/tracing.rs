//! One trace runs from the visitor's message on replica A, through NATS, to the delivery on
//! replica B. Its own test binary: it installs the process-wide subscriber with an in-memory
//! OpenTelemetry exporter.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{sync::Arc, time::Duration};

use futures::{SinkExt, StreamExt};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use secrecy::SecretString;
use shared::{
    auth::{KeyRing, TokenType},
    config::Backend,
    events::{EventBus, NatsBus},
    ids::UserId,
    testing::{nats_url, unique_prefix, TestDatabase},
};
use tokio_tungstenite::{connect_async, tungstenite::Message};
use tokio_util::sync::CancellationToken;

async fn replica(
    db: &TestDatabase,
    prefix: &str,
    name: &str,
    stop: &CancellationToken,
) -> (u16, chat_gateway::state::AppState) {
    let mut config = chat_gateway::Config::with(
        db.url().clone(),
        SecretString::from("trace-test-key".to_owned()),
    );
    config.common.replica_id = Some(name.to_owned());
    let bus: Arc<dyn EventBus> = Arc::new(NatsBus::connect(&nats_url(), prefix).await.unwrap());
    let app = chat_gateway::Application::build_with_bus(config, bus)
        .await
        .unwrap();
    let port = app.port();
    let state = app.service().state.clone();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    (port, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_trace_crosses_from_one_replica_to_the_other_through_nats() {
    // Arrange
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let _telemetry =
        shared::telemetry::init_with_provider("test", false, std::io::sink, Some(provider));
    let db = TestDatabase::create(Backend::Postgres).await;
    let prefix = unique_prefix();
    let stop = CancellationToken::new();
    let (port_a, state) = replica(&db, &prefix, "trace-a", &stop).await;
    let (port_b, _) = replica(&db, &prefix, "trace-b", &stop).await;
    let owner = UserId::new_random();
    state
        .store
        .upsert_owner(&chat_gateway::store::Owner {
            id: owner,
            is_registered: true,
            is_profile_public: true,
            version: 1,
        })
        .await
        .unwrap();
    let started: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port_a}/api/chat/start/"))
        .json(&serde_json::json!({ "user_id": owner.to_string() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let room = started["room_id"].as_str().unwrap();
    let token = started["visitor_token"].as_str().unwrap();
    let access = KeyRing::new(&SecretString::from("trace-test-key".to_owned()), &[])
        .signer()
        .sign(owner, TokenType::Access, 300)
        .unwrap();
    let (mut visitor, _) = connect_async(format!(
        "ws://127.0.0.1:{port_a}/ws/chat/{room}/?visitor={token}"
    ))
    .await
    .unwrap();
    let (mut owner_socket, _) = connect_async(format!(
        "ws://127.0.0.1:{port_b}/ws/chat/{room}/?token={access}"
    ))
    .await
    .unwrap();
    // Let replica B's room subscription reach NATS before the message is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act
    visitor
        .send(Message::text(r#"{"message":"traced"}"#))
        .await
        .unwrap();
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(Message::Text(text))) = owner_socket.next().await {
                break text.to_string();
            }
        }
    })
    .await
    .expect("the owner on replica B receives the message");

    // Assert
    assert!(received.contains("traced"));
    let mut spans = Vec::new();
    for _ in 0..50 {
        spans = exporter.get_finished_spans().unwrap();
        if spans.iter().any(|s| s.name == "chat.deliver_remote") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = spans
        .iter()
        .find(|s| s.name == "chat.message")
        .expect("a span for the sent message");
    let delivered = spans
        .iter()
        .find(|s| s.name == "chat.deliver_remote")
        .expect("a span for the delivery on replica B");
    assert_eq!(
        delivered.span_context.trace_id(),
        sent.span_context.trace_id(),
        "one trace across the broker"
    );
    assert_eq!(delivered.parent_span_id, sent.span_context.span_id());
    stop.cancel();
}
