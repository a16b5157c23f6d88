//! Horizontal scale: two gateway replicas on one Postgres database and one NATS prefix, the
//! visitor on one and the owner on the other, chatting both ways; each replica subscribes only
//! to the rooms it has sockets for.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{eventually, spawn_cluster, TestOwner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_on_one_replica_and_the_owner_on_the_other_chat_in_both_directions() {
    // Arrange
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let chat = a.start_chat_with(&owner).await;
    let mut visitor = a.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    visitor
        .send_message("Salom, mashinangiz yo'lni to'sib qo'ydi")
        .await;
    let at_visitor = visitor.next_json().await;
    let at_owner = owner_socket.next_json().await;
    owner_socket.send_message("Hozir chiqaman").await;
    let reply_at_owner = owner_socket.next_json().await;
    let reply_at_visitor = visitor.next_json().await;

    // Assert
    assert_eq!(at_owner, at_visitor);
    assert_eq!(at_owner["sender_type"], "visitor");
    assert_eq!(reply_at_visitor, reply_at_owner);
    assert_eq!(reply_at_visitor["sender_type"], "owner");
    assert_eq!(reply_at_visitor["message"], "Hozir chiqaman");
    visitor.expect_silence().await;
    owner_socket.expect_silence().await;
    let history_a = a.history(&chat.room_id, &chat.visitor()).await;
    let history_b = b.history(&chat.room_id, &owner.auth()).await;
    assert_eq!(history_a, history_b);
    let ids: Vec<&Value> = history_a.iter().map(|m| &m["id"]).collect();
    assert_eq!(ids, [&at_visitor["id"], &reply_at_owner["id"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_across_replicas_arrives_complete_and_in_order() {
    // Arrange
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let chat = b.start_chat_with(&owner).await;
    let mut visitor = a.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut owner_socket = b.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    for i in 0..20 {
        visitor.send_message(&format!("{i}")).await;
    }
    let mut at_owner = Vec::new();
    for _ in 0..20 {
        at_owner.push(owner_socket.next_json().await);
    }

    // Assert
    let texts: Vec<&str> = at_owner
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(texts, expected);
    owner_socket.expect_silence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_replica_subscribes_only_to_the_rooms_it_has_sockets_for() {
    // Arrange
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let shared_room = a.start_chat_with(&owner).await;
    let only_on_a = a.start_chat_with(&owner).await;
    let nowhere = a.start_chat_with(&owner).await;

    // Act
    let visitor = a
        .open_ws(&shared_room.room_id, &shared_room.visitor())
        .await;
    let owner_socket = b.open_ws(&shared_room.room_id, &owner.auth()).await;
    let mut lonely = a.open_ws(&only_on_a.room_id, &only_on_a.visitor()).await;
    eventually("the hubs hold the sockets", || async {
        (a.state.hub.open_sockets() == 2 && b.state.hub.open_sockets() == 1).then_some(())
    })
    .await;

    // Assert
    assert_eq!(a.state.hub.subscribed_rooms(), 2);
    assert_eq!(b.state.hub.subscribed_rooms(), 1);
    lonely.send_message("hech kim yo'q").await;
    lonely.next_json().await;
    a.chat(&nowhere.room_id, &nowhere.visitor(), &["bo'sh xona"])
        .await;
    eventually("the transient socket has left", || async {
        (a.state.hub.subscribed_rooms() == 2).then_some(())
    })
    .await;
    assert_eq!(b.state.hub.subscribed_rooms(), 1);

    visitor.close().await;
    owner_socket.close().await;
    lonely.close().await;
    eventually("both hubs drop every subscription", || async {
        let a_idle = a.state.hub.subscribed_rooms() == 0 && a.state.hub.open_sockets() == 0;
        let b_idle = b.state.hub.subscribed_rooms() == 0 && b.state.hub.open_sockets() == 0;
        (a_idle && b_idle).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_sockets_in_a_room_receives_nothing_of_it() {
    // Arrange
    let cluster = spawn_cluster(2).await;
    let (a, b) = (&cluster[0], &cluster[1]);
    let owner = TestOwner::registered(a).await;
    let busy = a.start_chat_with(&owner).await;
    let quiet = a.start_chat_with(&owner).await;
    let mut quiet_owner = b.open_ws(&quiet.room_id, &owner.auth()).await;

    // Act
    let sent = a
        .chat(&busy.room_id, &busy.visitor(), &["bir", "ikki"])
        .await;

    // Assert
    quiet_owner.expect_silence().await;
    let rooms = b.rooms_of(&owner).await;
    let ids: HashSet<&str> = rooms.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(busy.room_id.as_str()));
    assert_eq!(rooms[0]["last_message"]["id"], sent[1]["id"]);
}
