//! A room's one order: recovery with `?after=` after a dropped socket misses nothing and
//! repeats nothing, even with messages committed meanwhile on the other replica; two replicas
//! committing into one room at once agree on the order in the history, live and in recovery.

#![expect(
    clippy::expect_used,
    reason = "the tests fail by panicking, as test helpers do"
)]

use std::time::Duration;

use rstest::rstest;
use serde_json::Value;
use shared::config::Backend;

use crate::helpers::{eventually, spawn_app, spawn_cluster, TestOwner, WsClient};

/// The ids of `frames`.
fn ids(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["id"].as_str().expect("a message frame").to_owned())
        .collect()
}

#[rstest]
#[tokio::test]
async fn after_must_name_a_message_of_the_room(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let own = app.chat(&chat.room_id, &chat.visitor(), &["salom"]).await;
    let elsewhere = app.start_chat_with(&owner).await;
    let foreign = app
        .chat(&elsewhere.room_id, &elsewhere.visitor(), &["boshqa"])
        .await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act
    let mut statuses = Vec::new();
    for after in [
        foreign[0]["id"].as_str().expect("id"),
        &unknown,
        "not-a-uuid",
    ] {
        let url = app.resume_url(&chat.room_id, &chat.visitor(), Some(after));
        statuses.push(app.handshake_status(&url).await);
    }
    let url = app.resume_url(&chat.room_id, &chat.visitor(), own[0]["id"].as_str());
    let valid = app.handshake_status(&url).await;

    // Assert
    assert_eq!(statuses, [400, 400, 400]);
    assert_eq!(valid, 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_after_a_dropped_socket_misses_nothing_and_repeats_nothing() {
    // Arrange: the visitor on replica A has seen three messages when its socket drops.
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let chat = a.start_chat_with(&owner).await;
    let seen = a
        .chat(&chat.room_id, &chat.visitor(), &["1", "2", "3"])
        .await;
    let last_seen = seen[2]["id"].as_str().expect("id").to_owned();
    let mut owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;
    for text in ["4", "5", "6"] {
        owner_socket.send_message(text).await;
        owner_socket.next_json().await;
    }

    // Act: the visitor comes back while the owner, on the other replica, keeps writing.
    let (mut owner_sender, owner_frames) = owner_socket.split_collecting();
    let writing = tokio::spawn(async move {
        for i in 7..=20 {
            owner_sender.send_message(&i.to_string()).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        owner_sender
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut visitor = a
        .open_v2(&chat.room_id, &chat.visitor(), Some(&last_seen))
        .await;
    let owner_sender = writing.await.expect("the owner wrote");
    let mut received = Vec::new();
    while received.len() < 17 {
        received.push(visitor.next_json().await);
    }

    // Assert: 4 to 20, in order, once each, then nothing.
    let texts: Vec<&str> = received
        .iter()
        .map(|f| f["message"].as_str().expect("a message"))
        .collect();
    let expected: Vec<String> = (4..=20).map(|i| i.to_string()).collect();
    assert_eq!(texts, expected);
    visitor.expect_silence().await;
    let history = b.history(&chat.room_id, &owner.auth()).await;
    assert_eq!(ids(&received), ids(&history[3..]));
    owner_sender.close().await;
    let at_owner = owner_frames.frames().await;
    assert_eq!(ids(&at_owner), ids(&history[6..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_committing_into_one_room_agree_on_its_order() {
    // Arrange: the visitor on replica A, the owner on replica B.
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let chat = a.start_chat_with(&owner).await;
    let visitor = a.open_ws(&chat.room_id, &chat.visitor()).await;
    let owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;
    let (mut visitor_sender, at_visitor) = visitor.split_collecting();
    let (mut owner_sender, at_owner) = owner_socket.split_collecting();

    // Act: both write 25 messages at once.
    let visitor_writes = async {
        for i in 0..25 {
            visitor_sender.send_message(&format!("v{i}")).await;
        }
    };
    let owner_writes = async {
        for i in 0..25 {
            owner_sender.send_message(&format!("o{i}")).await;
        }
    };
    tokio::join!(visitor_writes, owner_writes);
    eventually("both sides received all 50", || async {
        (at_visitor.count() == 50 && at_owner.count() == 50).then_some(())
    })
    .await;
    visitor_sender.close().await;
    owner_sender.close().await;
    let at_visitor = at_visitor.frames().await;
    let at_owner = at_owner.frames().await;

    // Assert: live on both replicas, the history and a recovery tell one order.
    let history = a.history(&chat.room_id, &chat.visitor()).await;
    assert_eq!(history.len(), 50);
    assert_eq!(ids(&at_visitor), ids(&history));
    assert_eq!(ids(&at_owner), ids(&history));
    let resumed_at = history[19]["id"].as_str().expect("id");
    let url = b.resume_url(&chat.room_id, &chat.visitor(), Some(resumed_at));
    let mut recovered = WsClient::connect(&url, None)
        .await
        .expect("the socket opens");
    let mut rest = Vec::new();
    while rest.len() < 30 {
        rest.push(recovered.next_json().await);
    }
    assert_eq!(ids(&rest), ids(&history[20..]));
    recovered.expect_silence().await;
    let paged = b
        .list_messages(&chat.room_id, &chat.visitor(), &[("after", resumed_at)])
        .await
        .json::<Vec<Value>>()
        .await
        .expect("JSON");
    assert_eq!(ids(&paged), ids(&history[20..]));
}
