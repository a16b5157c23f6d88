//! NATS going away mid-conversation: messages are still committed and delivered to sockets on
//! the same replica, and in the room's order to a replica that commits after them; once NATS
//! is back, the other replica's sockets receive every one of them and the stream holds each
//! event exactly once. The test runs its own `nats-server`.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{collections::HashSet, sync::Arc, time::Duration};

use secrecy::SecretString;
use serde_json::Value;
use shared::{
    config::Backend,
    testing::{unique_prefix, NatsServer, TestDatabase},
};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    chat_stream_events, eventually, spawn_replica, tally, Ending, Placement, TestApp, WsClient,
};

async fn replica(
    db: &Arc<TestDatabase>,
    nats: &NatsServer,
    prefix: &str,
    secret: &SecretString,
    name: &str,
) -> TestApp {
    spawn_replica(
        Placement {
            db: db.clone(),
            nats: Some((nats.url().to_owned(), prefix.to_owned())),
            secret: secret.clone(),
            replica_id: Some(name.to_owned()),
        },
        |_| {},
    )
    .await
}

/// Two replicas on a fresh database and their own subject prefix on `nats`.
async fn two_replicas(nats: &NatsServer) -> (TestApp, TestApp, String) {
    let db = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let prefix = unique_prefix();
    let secret = SecretString::from(format!("outage-{}", uuid::Uuid::new_v4()));
    let a = replica(&db, nats, &prefix, &secret, "replica-a").await;
    let b = replica(&db, nats, &prefix, &secret, "replica-b").await;
    (a, b, prefix)
}

/// Reads `socket` until every id in `wanted` has arrived (duplicates allowed, as after a
/// reconnect); returns the ids seen.
async fn receive_all(
    socket: &mut WsClient,
    wanted: &HashSet<String>,
    within: Duration,
) -> HashSet<String> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = HashSet::new();
    while !wanted.is_subset(&seen) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.next_frame(left).await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                seen.insert(frame["id"].as_str().expect("a message frame").to_owned());
            }
            other => panic!(
                "missing {:?}; socket gave {other:?}",
                wanted.difference(&seen).collect::<Vec<_>>()
            ),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_nats_is_down_reach_the_other_replica_once_it_returns() {
    // Arrange
    let mut nats = NatsServer::start().await;
    let (a, b, prefix) = two_replicas(&nats).await;
    let owner = crate::helpers::TestOwner::registered(&a).await;
    let chat = a.start_chat_with(&owner).await;
    let mut visitor = a.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;
    visitor.send_message("NATS ishlayapti").await;
    let before = visitor.next_json().await;
    assert_eq!(owner_socket.next_json().await, before);

    // Act: NATS dies mid-conversation; both sides keep writing.
    nats.kill();
    let mut from_visitor = Vec::new();
    for text in ["NATS yo'q 1", "NATS yo'q 2", "NATS yo'q 3"] {
        visitor.send_message(text).await;
        let frame = visitor.next_json().await;
        assert_eq!(
            frame["message"], text,
            "committed and delivered on the same replica"
        );
        from_visitor.push(frame);
    }
    owner_socket.send_message("Eshitdim").await;
    // The owner's message comes after three this replica has not seen: they are read back
    // from the database first, so the room keeps its order even while NATS is down.
    let mut at_owner = Vec::new();
    for _ in 0..4 {
        at_owner.push(owner_socket.next_json().await);
    }
    assert_eq!(at_owner[..3], from_visitor[..], "in the room's order");
    let from_owner = at_owner[3].clone();
    assert_eq!(from_owner["message"], "Eshitdim");
    let during_outage = a.start_chat_with(&owner).await;
    nats.restart().await;

    // Assert: the other replica's sockets get everything sent during the outage, once.
    let wanted_by_visitor: HashSet<String> = [from_owner["id"].as_str().unwrap().to_owned()].into();
    receive_all(&mut visitor, &wanted_by_visitor, Duration::from_secs(60)).await;
    owner_socket.expect_silence().await;

    // Every committed message is in the history, in order.
    let history = b.history(&chat.room_id, &owner.auth()).await;
    let history_ids: Vec<&str> = history.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let mut all_ids = vec![before["id"].as_str().unwrap()];
    all_ids.extend(from_visitor.iter().map(|f| f["id"].as_str().unwrap()));
    all_ids.push(from_owner["id"].as_str().unwrap());
    assert_eq!(history_ids, all_ids);

    // A JetStream consumer sees each event exactly once.
    eventually("every event is published", || async {
        let a_left = a.unpublished().await?;
        let b_left = b.unpublished().await?;
        (a_left == 0 && b_left == 0).then_some(())
    })
    .await;
    let events = chat_stream_events(nats.url(), &prefix).await;
    let message_ids = tally(
        events
            .iter()
            .filter(|e| e.subject == format!("chat.rooms.{}.messages", chat.room_id))
            .map(|e| e.msg_id.as_deref().expect("Nats-Msg-Id")),
    );
    for id in &all_ids {
        assert_eq!(
            message_ids.get(*id),
            Some(&1),
            "message {id} once in the stream: {message_ids:?}"
        );
    }
    assert_eq!(message_ids.len(), all_ids.len());
    let created = events
        .iter()
        .filter(|e| e.subject == format!("chat.rooms.{}.created", during_outage.room_id))
        .count();
    assert_eq!(
        created, 1,
        "the room opened during the outage is announced once"
    );

    nats.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_channel_is_told_to_resynchronise_after_nats_returns_and_hears_again() {
    // Arrange: the owner's channel on replica B, the visitor on replica A.
    let mut nats = NatsServer::start().await;
    let (a, b, _) = two_replicas(&nats).await;
    let owner = crate::helpers::TestOwner::registered(&a).await;
    let mut channel = b.open_owner_channel(&owner).await;

    // Act: NATS goes away and comes back.
    nats.kill();
    nats.restart().await;

    // Assert: the channel may have missed frames, so it is closed with 1012; a new one hears
    // a room opened on the other replica.
    let (_, ending) = channel.read_to_end(Duration::from_secs(60)).await;
    assert!(
        matches!(&ending, Ending::Closed(Some((1012, reason))) if reason == "resync"),
        "{ending:?}"
    );
    let mut channel = b.open_owner_channel(&owner).await;
    let chat = a.start_chat_with(&owner).await;
    let frame = channel.next_json().await;
    assert_eq!(frame["type"], "room");
    assert_eq!(frame["room"]["id"], chat.room_id.as_str());

    nats.kill();
}
