//! chat-gateway against the deployed NATS configuration (`deploy/nats/nats.conf`, run by
//! `NatsServer::secured`): with its own credentials two replicas learn owners from
//! accounts-api's events, carry a chat between them and publish its events for a read-only
//! consumer; a message forged on a room's live subject by any other user never reaches a
//! socket, and no other user can put one into the chat stream.

#![expect(
    clippy::expect_used,
    reason = "the helpers here fail the test by panicking, as the tests do"
)]

use std::sync::Arc;

use chat_gateway::events::POSITION_HEADER;

use futures::StreamExt;
use secrecy::SecretString;
use shared::{
    config::Backend,
    events::{
        bus::ORIGIN_HEADER,
        catalog::{live, AccountEvent, MessagePosted, SenderType},
        Envelope, EventBus, NatsBus,
    },
    ids::UserId,
    testing::{NatsServer, TestDatabase},
};

use crate::helpers::{
    publish, snapshot, spawn_replica, Placement, TestApp, TestOwner, PATIENCE, QUIET,
};

/// Gateway replicas on one database, each connected as the `chat-gateway` user.
async fn replicas(server: &NatsServer, n: usize) -> Vec<TestApp> {
    let db = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let secret = SecretString::from(format!("secret-{}", uuid::Uuid::new_v4()));
    let mut replicas = Vec::with_capacity(n);
    for i in 0..n {
        let placement = Placement {
            db: db.clone(),
            nats: Some((server.url().to_owned(), String::new())),
            secret: secret.clone(),
            replica_id: Some(format!("replica-{i}")),
        };
        let auth = server.auth("chat-gateway");
        replicas.push(spawn_replica(placement, |c| c.common.nats_auth = auth).await);
    }
    replicas
}

/// A bus connected as `user` of `deploy/nats/nats.conf`.
async fn bus_as(server: &NatsServer, user: &str) -> NatsBus {
    NatsBus::connect_with_auth(server.url(), "", &server.auth(user))
        .await
        .expect("bus")
}

/// A well-formed message event for `room`, as a replica would publish it.
fn message_event(room: &str, owner: UserId, text: &str) -> Envelope {
    MessagePosted {
        id: uuid::Uuid::now_v7(),
        room_id: room.parse().expect("room id"),
        owner_id: owner,
        sender_type: SenderType::Owner,
        content: text.to_owned(),
        created_at: shared::time::now(),
    }
    .to_outbox()
    .to_envelope(Some("another-replica"))
}

/// The live copy of the `position`-th message in `room` of `owner`, as a gateway replica
/// hands it to the others.
fn live_copy(room: &str, owner: UserId, position: i64, text: &str) -> Envelope {
    let id = uuid::Uuid::now_v7();
    let frame = serde_json::json!({
        "id": id,
        "room_id": room,
        "sender_type": "owner",
        "message": text,
        "created_at": shared::time::format(&shared::time::now()),
    });
    Envelope {
        id,
        subject: live::messages(owner.as_uuid(), room.parse().expect("room id")),
        payload: frame.to_string().into(),
        headers: vec![
            (ORIGIN_HEADER.to_owned(), "another-replica".to_owned()),
            (POSITION_HEADER.to_owned(), position.to_string()),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_with_the_gateway_credentials_learn_owners_and_carry_a_chat() {
    // Arrange: accounts-api (its user) registers an owner before the chat.
    let server = NatsServer::secured().await;
    let cluster = replicas(&server, 2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let accounts = bus_as(&server, "accounts-api").await;
    let owner = TestOwner::unknown(a);
    let registered = AccountEvent::UserRegistered(snapshot(owner.id, true, true, 1));
    publish(
        &accounts,
        &[registered.to_outbox(shared::time::now()).to_envelope(None)],
    )
    .await;
    a.wait_for_owner(owner.id, 1).await;

    // Act: the visitor on one replica, the owner on the other.
    let chat = a.start_chat_with(&owner).await;
    let mut visitor = a.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;
    visitor.send_message("Salom").await;
    let at_visitor = visitor.next_json().await;
    let at_owner = owner_socket.next_json().await;

    // Assert: across replicas, and on the stream for a read-only consumer.
    assert_eq!(at_owner, at_visitor);
    let notifier = bus_as(&server, "notifier").await;
    let mut deliveries = notifier
        .consume_durable("nats-auth-probe", MessagePosted::ALL)
        .await
        .expect("durable consumer");
    let delivery = tokio::time::timeout(PATIENCE, deliveries.next())
        .await
        .unwrap_or_else(|_| panic!("no message event; NATS log:\n{}", server.log()))
        .expect("stream open");
    assert_eq!(
        delivery.envelope.subject,
        format!("chat.rooms.{}.messages", chat.room_id)
    );
    assert_eq!(
        delivery.envelope.id.to_string(),
        at_visitor["id"].as_str().expect("id")
    );
    delivery.ack().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_forged_by_another_user_never_reaches_a_socket() {
    // Arrange: a visitor socket whose room subscription provably delivers what a gateway
    // publishes.
    let server = NatsServer::secured().await;
    let cluster = replicas(&server, 1).await;
    let app = &cluster[0];
    let owner = TestOwner::registered(app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut socket = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let gateway = bus_as(&server, "chat-gateway").await;
    let warm_up = live_copy(&chat.room_id, owner.id, 1, "warm-up");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        // The same id each time: the hub delivers it once, whenever the subscription is up.
        gateway
            .publish_live(std::slice::from_ref(&warm_up))
            .await
            .expect("sent");
        if let Ok(frame) = tokio::time::timeout(QUIET, socket.next_json()).await {
            assert_eq!(frame["message"], "warm-up");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room subscription never delivered"
        );
    }

    // Act: everyone but the gateway user tries to inject a message into the room.
    for user in ["notifier", "accounts-api"] {
        let bus = bus_as(&server, user).await;
        let _ = bus
            .publish_live(&[live_copy(
                &chat.room_id,
                owner.id,
                2,
                &format!("forged by {user}"),
            )])
            .await;
        bus.client().flush().await.expect("flushed");
        let forged = message_event(&chat.room_id, owner.id, &format!("stored by {user}"));
        assert!(
            bus.publish_batch(&[forged]).await.is_err(),
            "{user} published a chat message through JetStream"
        );
    }
    gateway
        .publish_live(&[live_copy(&chat.room_id, owner.id, 2, "genuine")])
        .await
        .expect("sent");

    // Assert: the next frame is the gateway's, and nothing else follows.
    let frame = socket.next_json().await;
    assert_eq!(frame["message"], "genuine", "got {frame}");
    socket.expect_silence().await;
    for user in ["notifier", "accounts-api"] {
        assert!(
            server.log().contains(&format!(
                "User \"{user}\", Subject \"live.chat.owners.{}.rooms.{}",
                owner.id, chat.room_id
            )),
            "the server did not report {user}'s violation:\n{}",
            server.log()
        );
    }
}
