//! The broker refusing events: a stream that will not take an event (here, one over its
//! message size) must not stop the events behind it, and the refused one stays in the
//! database. The streams carry the size bounds this replica was configured with.

use std::time::Duration;

use async_nats::jetstream;
use serde_json::Value;
use shared::config::Backend;

use crate::helpers::{
    chat_stream_events, chat_stream_name, eventually, spawn_app, spawn_app_with, TestOwner,
};

#[tokio::test]
async fn an_event_the_broker_refuses_is_parked_and_the_next_ones_are_published() {
    // Arrange: a chat stream that takes no event over 2 KB, as an operator might set it.
    let app = spawn_app(Backend::Postgres).await;
    let nats_url = app.nats_url.clone().expect("NATS");
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let js = jetstream::new(
        async_nats::connect(&nats_url)
            .await
            .expect("NATS reachable"),
    );
    let name = chat_stream_name(&app.prefix);
    let mut stream = eventually("the chat stream exists", || async {
        js.get_stream(&name).await.ok()
    })
    .await;
    let mut config = stream.info().await.expect("stream info").config.clone();
    config.max_message_size = 2048;
    js.update_stream(config).await.expect("stream updated");

    // Act
    let long = "uzun ".repeat(800);
    app.chat(&chat.room_id, &chat.visitor(), &[long.as_str(), "qisqa"])
        .await;

    // Assert: the short message's event is in the stream, the long one is parked but kept.
    let events = eventually("the short message is published", || async {
        let events = chat_stream_events(&nats_url, &app.prefix).await;
        events
            .iter()
            .any(|e| e.document["data"]["content"] == "qisqa")
            .then_some(events)
    })
    .await;
    assert!(!events
        .iter()
        .any(|e| e.document["data"]["content"].as_str() == Some(long.as_str())));
    let history = app.history(&chat.room_id, &chat.visitor()).await;
    let texts: Vec<&Value> = history.iter().map(|m| &m["content"]).collect();
    assert_eq!(texts, [long.as_str(), "qisqa"]);
    eventually("nothing is left waiting", || async {
        (app.unpublished().await? == 0).then_some(())
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("outbox_events_parked_total{service=\"chat-gateway\"} 1")),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_streams_are_bounded_in_bytes_as_configured() {
    // Arrange
    let app = spawn_app_with(Backend::Postgres, |c| {
        c.common.nats_streams.nats_chat_stream_max_bytes = 64 << 20;
        c.common.nats_streams.nats_accounts_stream_max_bytes = 32 << 20;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    app.start_chat_with(&owner).await;
    let js = jetstream::new(
        async_nats::connect(app.nats_url.as_deref().expect("NATS"))
            .await
            .expect("NATS reachable"),
    );

    // Act
    let config = |suffix: &'static str| {
        let js = js.clone();
        let name = chat_stream_name(&app.prefix).replace("CHAT", suffix);
        async move {
            let mut stream = js.get_stream(name).await.ok()?;
            Some(stream.info().await.ok()?.config.clone())
        }
    };
    let chat = eventually("the chat stream exists", || config("CHAT")).await;
    let accounts = eventually("the accounts stream exists", || config("ACCOUNTS")).await;

    // Assert
    assert_eq!(chat.max_bytes, 64 << 20);
    assert_eq!(chat.max_age, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(accounts.max_bytes, 32 << 20);
    assert_eq!(accounts.max_messages_per_subject, 1);
    for stream in [&chat, &accounts] {
        assert_eq!(stream.discard, jetstream::stream::DiscardPolicy::Old);
    }
}
