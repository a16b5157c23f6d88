//! What one anonymous client can make the gateway hold or do: sockets per token and room, a
//! message rate shared by a participant's sockets, history reads of huge rooms, room size,
//! and room spam from one network. Each test is a hostile client's attempt through HTTP or
//! WebSocket, and checks the gateway stayed bounded and correct.

use chat_gateway::domain::SenderType;
use chat_gateway::{
    domain::{MessageText, NewMessage, RoomId},
    store::PendingMessage,
};
use futures::{future::join_all, FutureExt};
use rstest::rstest;
use serde_json::{json, Value};
use shared::{config::Backend, testing::memory};

use crate::helpers::{eventually, spawn_app, spawn_app_with, Auth, TestOwner, WsClient};

#[rstest]
#[tokio::test]
async fn one_visitor_token_holds_only_a_few_sockets(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let url = app.ws_url("/ws/chat/", &chat.room_id, &chat.visitor());
    let mut open = Vec::new();
    let mut refused = Vec::new();

    // Act
    for _ in 0..20 {
        match WsClient::connect(&url, None).await {
            Ok(socket) => open.push(socket),
            Err(status) => refused.push(status),
        }
    }

    // Assert
    assert_eq!(open.len(), 3);
    assert_eq!(refused, vec![429; 17]);
    let mut owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;
    open.pop().expect("a socket").close().await;
    let mut again = eventually("the closed socket's place is given back", || {
        WsClient::connect(&url, None).map(Result::ok)
    })
    .await;
    again.send_message("hali shu yerdaman").await;
    assert_eq!(
        owner_socket.next_json().await["message"],
        "hali shu yerdaman"
    );
}

#[tokio::test]
async fn a_room_holds_only_a_few_sockets_whoever_opens_them() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.ws_sockets_per_token = 3;
        c.ws_sockets_per_room = 4;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let _visitors = [
        app.open_ws(&chat.room_id, &chat.visitor()).await,
        app.open_ws(&chat.room_id, &chat.visitor()).await,
        app.open_ws(&chat.room_id, &chat.visitor()).await,
    ];
    let _owner_socket = app.open_ws(&chat.room_id, &owner.auth()).await;

    // Act
    let status = app
        .handshake_status(&app.ws_url("/ws/chat/", &chat.room_id, &owner.auth()))
        .await;

    // Assert
    assert_eq!(status, 429);
}

#[rstest]
#[tokio::test]
async fn the_message_rate_is_per_participant_not_per_socket(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.ws_message_burst = 3;
        c.ws_messages_per_second = 1;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let mut first_tab = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let mut second_tab = app.open_ws(&chat.room_id, &chat.visitor()).await;
    for i in 0..3 {
        first_tab.send_message(&format!("{i}")).await;
        assert!(first_tab.next_json().await.get("error").is_none());
    }

    // Act
    second_tab.send_message("yana").await;

    // Assert: the second tab's first message is over the visitor's shared budget.
    let mut frames = Vec::new();
    loop {
        let frame = second_tab.next_json().await;
        let is_error = frame.get("error").is_some();
        frames.push(frame);
        if is_error {
            break;
        }
    }
    assert_eq!(
        frames.last(),
        Some(&json!({"error": "Too many messages; slow down."}))
    );
    assert!(frames.iter().all(|f| f["message"] != "yana"), "{frames:?}");
}

#[rstest]
#[tokio::test]
async fn reading_a_huge_history_at_once_costs_memory_independent_of_its_size(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: 3,000 messages of 4,000 characters (12 MB of text).
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let room = RoomId::parse(&chat.room_id).expect("a room id");
    let text = "ж".repeat(4000);
    for _ in 0..6 {
        let batch: Vec<PendingMessage> = (0..500)
            .map(|_| PendingMessage {
                message: NewMessage::new(
                    room,
                    SenderType::Visitor,
                    MessageText::parse(&text).expect("valid text"),
                    None,
                ),
                owner_id: owner.id,
                traceparent: None,
            })
            .collect();
        app.state
            .store
            .insert_messages(&batch)
            .await
            .expect("stored");
    }
    let whole = app.history(&chat.room_id, &chat.visitor()).await;
    assert_eq!(whole.len(), 3000);
    assert!(whole
        .iter()
        .all(|m| m["content"].as_str().map(str::len) == Some(8000)));
    let expected_bytes = serde_json::to_vec(&whole).expect("JSON").len();
    // Each reader counts the bytes and keeps none, so what the process grows by is the server's.
    let read = || async {
        let mut response = app.list_messages(&chat.room_id, &chat.visitor(), &[]).await;
        assert_eq!(response.status(), 200);
        let mut bytes = 0;
        while let Some(chunk) = response.chunk().await.expect("body read") {
            bytes += chunk.len();
        }
        bytes
    };

    // Act
    let (reads, growth_kib) = memory::peak_growth_during(join_all((0..8).map(|_| read()))).await;

    // Assert: 8 reads of 24 MB each, all complete; materialised, they would take 200 MB+.
    assert!(
        reads.iter().all(|&bytes| bytes == expected_bytes),
        "{reads:?} != {expected_bytes}"
    );
    assert!(growth_kib < 64 * 1024, "RSS grew by {growth_kib} KiB");
}

#[rstest]
#[tokio::test]
async fn a_full_room_refuses_more_messages_with_an_error_frame(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.room_max_messages = 3).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["bir", "ikki", "uch"])
        .await;

    // Act: a new socket (the count comes from the database) tries once more.
    let mut visitor = app.open_ws(&chat.room_id, &chat.visitor()).await;
    visitor.send_message("to'rt").await;

    // Assert
    assert_eq!(
        visitor.next_json().await,
        json!({"error": "This chat is full."})
    );
    assert_eq!(app.history(&chat.room_id, &chat.visitor()).await.len(), 3);
}

#[tokio::test]
async fn chat_starts_from_one_ipv6_network_share_one_limit() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.common.trust_forwarded_for = true;
        c.chat_starts_per_minute = 2;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    assert_eq!(
        app.start_chat_forwarded_for(&owner, "2001:db8:7:1::1")
            .await
            .status(),
        201
    );
    assert_eq!(
        app.start_chat_forwarded_for(&owner, "2001:db8:7:1::2")
            .await
            .status(),
        201
    );

    // Act
    let same_network = app
        .start_chat_forwarded_for(&owner, "2001:db8:7:1:ffff::3")
        .await;
    let other_network = app
        .start_chat_forwarded_for(&owner, "2001:db8:7:2::1")
        .await;

    // Assert
    assert_eq!(same_network.status(), 429);
    assert!(same_network.headers().contains_key("retry-after"));
    assert_eq!(other_network.status(), 201);
}

#[tokio::test]
async fn only_the_hop_the_ingress_appended_counts_as_the_client() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.common.trust_forwarded_for = true;
        c.chat_starts_per_minute = 2;
    })
    .await;
    let owner = TestOwner::registered(&app).await;

    // Act: the client invents a new first hop each time.
    let mut codes = Vec::new();
    for i in 0..3 {
        let forwarded = format!("10.9.8.{i}, 203.0.113.5");
        codes.push(
            app.start_chat_forwarded_for(&owner, &forwarded)
                .await
                .status()
                .as_u16(),
        );
    }

    // Assert
    assert_eq!(codes, [201, 201, 429]);
}

#[rstest]
#[tokio::test]
async fn one_address_cannot_bury_an_owners_inbox(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.chat_starts_per_owner_per_hour = 3).await;
    let owner = TestOwner::registered(&app).await;
    let other_owner = TestOwner::registered(&app).await;
    for _ in 0..3 {
        app.start_chat_with(&owner).await;
    }

    // Act
    let response = app
        .start_chat(&json!({"user_id": owner.id.to_string()}))
        .await;
    let elsewhere = app
        .start_chat(&json!({"user_id": other_owner.id.to_string()}))
        .await;

    // Assert
    let retry_after = response.headers().get("retry-after").cloned();
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, 429);
    assert!(retry_after.is_some());
    assert!(body["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("Request was throttled.")));
    assert_eq!(elsewhere.status(), 201);
    assert_eq!(app.rooms_of(&owner).await.len(), 3);
}

#[rstest]
#[tokio::test]
async fn the_next_page_link_never_carries_the_visitor_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["bir", "ikki"])
        .await;

    // Act
    let response = app
        .list_messages(&chat.room_id, &chat.visitor(), &[("limit", "1")])
        .await;

    // Assert
    let link = response
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .expect("a Link header")
        .to_owned();
    assert!(
        link.contains("after=") && link.contains("limit=1"),
        "{link}"
    );
    let Auth::Visitor(token) = chat.visitor() else {
        unreachable!()
    };
    assert!(
        !link.contains(&token) && !link.contains("visitor"),
        "{link}"
    );
}
