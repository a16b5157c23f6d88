//! A database outage: REST answers 503 with a body (never 500), a WebSocket message that
//! cannot be committed gets an error frame and the socket stays open, and everything works
//! again when the database is back.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{sync::Arc, time::Duration};

use futures::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::{
    events::InProcessBus,
    ids::UserId,
    testing::{TcpProxy, TestDatabase},
};
use tokio_tungstenite::{connect_async, tungstenite::Message};
use tokio_util::sync::CancellationToken;

async fn next_json<S>(socket: &mut S) -> Value
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("ok");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn a_database_outage_is_a_503_and_an_error_frame_and_the_gateway_recovers() {
    // Arrange
    let db = TestDatabase::postgres().await;
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let mut config = chat_gateway::Config::with(
        db.url_via(&proxy),
        SecretString::from("outage-key".to_owned()),
    );
    config.common.database_max_connections = 2;
    let stop = CancellationToken::new();
    let app = chat_gateway::Application::build_with_bus(config, Arc::new(InProcessBus::new()))
        .await
        .unwrap();
    let base = format!("127.0.0.1:{}", app.port());
    let store = app.service().state.store.clone();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    let owner = UserId::new_random();
    store
        .upsert_owner(&chat_gateway::store::Owner {
            id: owner,
            is_registered: true,
            is_profile_public: true,
            version: 1,
        })
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let start = || {
        http.post(format!("http://{base}/api/chat/start/"))
            .json(&json!({ "user_id": owner.to_string() }))
            .send()
    };
    let started: Value = start().await.unwrap().json().await.unwrap();
    let (room, token) = (
        started["room_id"].as_str().unwrap(),
        started["visitor_token"].as_str().unwrap(),
    );
    let (mut visitor, _) = connect_async(format!("ws://{base}/ws/chat/{room}/?visitor={token}"))
        .await
        .unwrap();

    // Act
    proxy.cut();
    let refused_start = start().await.unwrap();
    visitor
        .send(Message::text(r#"{"message":"during the outage"}"#))
        .await
        .unwrap();
    let error_frame = next_json(&mut visitor).await;

    // Assert
    assert_eq!(refused_start.status(), 503);
    assert_eq!(
        refused_start.json::<Value>().await.unwrap()["code"],
        "service_unavailable"
    );
    assert!(error_frame["error"].as_str().is_some(), "{error_frame}");

    proxy.restore();
    let mut echoed = None;
    for _ in 0..20 {
        visitor
            .send(Message::text(r#"{"message":"after the outage"}"#))
            .await
            .unwrap();
        let frame = next_json(&mut visitor).await;
        if frame.get("id").is_some() {
            echoed = Some(frame);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let echoed = echoed.expect("the same socket works again once the database is back");
    assert_eq!(echoed["message"], "after the outage");
    stop.cancel();
}
