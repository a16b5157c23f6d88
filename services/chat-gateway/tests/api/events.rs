//! The chat events other services consume: `chat.rooms.<id>.created` and
//! `chat.rooms.<id>.messages`, published from the outbox and the message log once per id,
//! with `Nats-Msg-Id`.

use std::collections::HashSet;

use futures::StreamExt;
use serde_json::Value;
use shared::config::Backend;

use crate::helpers::{
    chat_stream_events, eventually, is_wire_timestamp, nats_msg_id, spawn_app, spawn_cluster,
    tally, StoredEvent, TestApp, TestOwner, PATIENCE, QUIET,
};

async fn outbox_drained(apps: &[&TestApp]) {
    eventually("every event is published", || async {
        for app in apps {
            if app.unpublished().await? != 0 {
                return None;
            }
        }
        Some(())
    })
    .await;
}

fn of_room<'a>(events: &'a [StoredEvent], room: &str, kind: &str) -> Vec<&'a StoredEvent> {
    let subject = format!("chat.rooms.{room}.{kind}");
    events.iter().filter(|e| e.subject == subject).collect()
}

#[tokio::test]
async fn room_creation_and_messages_reach_the_chat_stream_once_each_with_a_nats_msg_id() {
    // Arrange
    let app = spawn_app(Backend::Postgres).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let chat = app.start_chat_with(&owner).await;
    let mut sent = app
        .chat(&chat.room_id, &chat.visitor(), &["Salom", "Chiqing"])
        .await;
    sent.extend(app.chat(&chat.room_id, &owner.auth(), &["Hozir"]).await);
    outbox_drained(&[&app]).await;
    let republished = app.relay.publish_all().await.unwrap();

    // Assert
    assert_eq!(republished, 0, "nothing is left to publish twice");
    let events = chat_stream_events(app.nats_url.as_deref().unwrap(), &app.prefix).await;
    let created = of_room(&events, &chat.room_id, "created");
    assert_eq!(created.len(), 1, "{events:?}");
    let created = created[0];
    assert_eq!(
        created.msg_id.as_deref(),
        created.document["event_id"].as_str(),
        "{created:?}"
    );
    assert_eq!(created.document["event_type"], "chat.room.created");
    assert_eq!(created.document["schema_version"], 1);
    assert!(is_wire_timestamp(&created.document["occurred_at"]));
    assert_eq!(created.document["data"]["room_id"], chat.room_id.as_str());
    assert_eq!(created.document["data"]["owner_id"], owner.id.to_string());

    let messages = of_room(&events, &chat.room_id, "messages");
    let ids: Vec<&str> = messages
        .iter()
        .map(|e| e.msg_id.as_deref().expect("Nats-Msg-Id"))
        .collect();
    let sent_ids: Vec<&str> = sent.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids, sent_ids,
        "each message once, in order, its id as Nats-Msg-Id"
    );
    for (event, frame) in messages.iter().zip(&sent) {
        let data = &event.document["data"];
        assert_eq!(event.document["event_id"], frame["id"]);
        assert_eq!(event.document["event_type"], "chat.message.posted");
        assert_eq!(data["id"], frame["id"]);
        assert_eq!(data["room_id"], chat.room_id.as_str());
        assert_eq!(data["owner_id"], owner.id.to_string());
        assert_eq!(data["sender_type"], frame["sender_type"]);
        assert_eq!(data["content"], frame["message"]);
        assert_eq!(data["created_at"], frame["created_at"]);
    }
}

#[tokio::test]
async fn a_core_nats_subscriber_sees_each_chat_event_live_once() {
    // Arrange
    let app = spawn_app(Backend::Postgres).await;
    let owner = TestOwner::registered(&app).await;
    let mut subscription = app.subscribe_chat_events().await;

    // Act
    let chat = app.start_chat_with(&owner).await;
    let sent = app
        .chat(&chat.room_id, &chat.visitor(), &["bir", "ikki"])
        .await;

    // Assert
    let mut seen = Vec::new();
    for _ in 0..3 {
        let message = tokio::time::timeout(PATIENCE, subscription.next())
            .await
            .unwrap()
            .unwrap();
        let msg_id = nats_msg_id(message.headers.as_ref());
        seen.push((
            message
                .subject
                .as_str()
                .trim_start_matches(&app.prefix)
                .to_owned(),
            msg_id.expect("Nats-Msg-Id"),
        ));
    }
    assert!(
        tokio::time::timeout(QUIET, subscription.next())
            .await
            .is_err(),
        "no duplicates"
    );
    assert_eq!(seen[0].0, format!("chat.rooms.{}.created", chat.room_id));
    assert_eq!(
        seen[1],
        (
            format!("chat.rooms.{}.messages", chat.room_id),
            sent[0]["id"].as_str().unwrap().to_owned()
        )
    );
    assert_eq!(
        seen[2],
        (
            format!("chat.rooms.{}.messages", chat.room_id),
            sent[1]["id"].as_str().unwrap().to_owned()
        )
    );
}

#[tokio::test]
async fn the_in_process_bus_carries_each_chat_event_once() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;
    let owner = TestOwner::registered(&app).await;
    let mut events = app.bus.subscribe("chat.>").await.unwrap();

    // Act
    let chat = app.start_chat_with(&owner).await;
    let sent = app
        .chat(&chat.room_id, &chat.visitor(), &["bir", "ikki"])
        .await;

    // Assert
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            tokio::time::timeout(PATIENCE, events.next())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert!(
        tokio::time::timeout(QUIET, events.next()).await.is_err(),
        "no duplicates"
    );
    assert_eq!(
        seen[0].subject,
        format!("chat.rooms.{}.created", chat.room_id)
    );
    for (envelope, frame) in seen[1..].iter().zip(&sent) {
        assert_eq!(
            envelope.subject,
            format!("chat.rooms.{}.messages", chat.room_id)
        );
        assert_eq!(envelope.id.to_string(), frame["id"].as_str().unwrap());
        let document: Value = serde_json::from_slice(&envelope.payload).unwrap();
        assert_eq!(document["data"]["content"], frame["message"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_relaying_one_outbox_publish_every_event_exactly_once() {
    // Arrange
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;

    // Act
    let mut sent_ids = HashSet::new();
    let mut rooms = Vec::new();
    for i in 0..6 {
        let (here, there) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let chat = here.start_chat_with(&owner).await;
        let texts: Vec<String> = (0..5).map(|n| format!("{i}-{n}")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        for frame in there.chat(&chat.room_id, &chat.visitor(), &texts).await {
            sent_ids.insert(frame["id"].as_str().unwrap().to_owned());
        }
        rooms.push(chat.room_id);
    }
    outbox_drained(&[a, b]).await;

    // Assert
    let events = chat_stream_events(a.nats_url.as_deref().unwrap(), &a.prefix).await;
    let created = tally(
        events
            .iter()
            .filter(|e| e.subject.ends_with(".created"))
            .map(|e| e.subject.as_str()),
    );
    assert_eq!(created.len(), rooms.len());
    assert!(created.values().all(|n| *n == 1), "{created:?}");
    let messages = tally(
        events
            .iter()
            .filter(|e| e.subject.ends_with(".messages"))
            .map(|e| e.msg_id.as_deref().unwrap()),
    );
    assert_eq!(messages.keys().cloned().collect::<HashSet<_>>(), sent_ids);
    assert!(messages.values().all(|n| *n == 1), "{messages:?}");
}
