//! `docs/asyncapi.yaml` against the code: every event of the catalogue, every frame the
//! gateway sends, every refusal text and every close code are in the document with the fields
//! the code writes; what a real socket and a real NATS server carry fits its schemas; and the
//! document's own examples fit them too.
//!
//! The lists come from the code, not from a copy here: events and frames are serialised from
//! real values, and the refusal texts and close codes, which the code keeps as constants and
//! literal arguments rather than an enum, are read from the source files the crate is built
//! from.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the helpers here fail the test by panicking, as the tests do"
)]

use std::{collections::BTreeSet, time::Duration};

use chat_gateway::domain::{
    message_text::MessageTextError, Message, MessageText, NewMessage, RoomId,
};
use chat_gateway::ws::frames;
use futures::StreamExt;
use serde_json::{json, Value};
use shared::{
    config::Backend,
    events::{
        catalog::{AccountEvent, MessagePosted, RoomCreated, SenderType, UserSnapshot},
        outbox::OutboxEvent,
        Envelope,
    },
    ids::UserId,
    testing::asyncapi::{Action, AsyncApi},
};
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, Ending, TestOwner, PATIENCE};

const CATALOGUE_SOURCE: &str = include_str!("../../../../shared/src/events/catalog.rs");
const FRAMES_SOURCE: &str = include_str!("../../src/ws/frames.rs");
const SESSION_SOURCE: &str = include_str!("../../src/ws/session.rs");

/// A W3C trace context, for the header a traced publisher adds.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// One real event of each kind in the catalogue, as its outbox row.
fn catalogue_samples() -> Vec<OutboxEvent> {
    let snapshot = UserSnapshot {
        id: UserId::new_random(),
        is_registered: true,
        is_profile_public: true,
        full_name: "Aziz Karimov".into(),
        car_model: "Chevrolet Cobalt".into(),
        car_plate_number: "01 A 123 BC".into(),
        version: 1,
    };
    let account = [
        AccountEvent::UserRegistered(snapshot.clone()),
        AccountEvent::UserUpdated(snapshot.clone()),
    ];
    // No wildcard: a new kind of account event breaks this match, which leads here to add its
    // sample above.
    for event in &account {
        match event {
            AccountEvent::UserRegistered(_) | AccountEvent::UserUpdated(_) => {}
        }
    }
    let now = shared::time::now();
    let room_id = Uuid::new_v4();
    let mut samples: Vec<OutboxEvent> = account.iter().map(|e| e.to_outbox(now)).collect();
    samples.push(
        RoomCreated {
            room_id,
            owner_id: snapshot.id,
            visitor_name: "Neighbour from 4B".into(),
            created_at: now,
        }
        .to_outbox(),
    );
    samples.push(
        MessagePosted {
            id: Uuid::now_v7(),
            room_id,
            owner_id: snapshot.id,
            sender_type: SenderType::Visitor,
            content: "Salom".into(),
            created_at: now,
        }
        .to_outbox(),
    );
    samples
}

/// The headers of `envelope` as NATS carries them: `NatsBus` adds `Nats-Msg-Id`, the event
/// id, to the envelope's own.
fn published_headers(envelope: &Envelope) -> Value {
    let mut headers = serde_json::Map::new();
    headers.insert("Nats-Msg-Id".into(), json!(envelope.id.to_string()));
    for (name, value) in &envelope.headers {
        headers.insert(name.clone(), json!(value));
    }
    Value::Object(headers)
}

/// Every string literal in `source` that looks like an `event_type` (`family.noun.verb`).
fn event_types_in(source: &str) -> BTreeSet<String> {
    let literal = regex::Regex::new(r#""((?:accounts|chat)\.[a-z_]+\.[a-z_]+)""#).unwrap();
    literal
        .captures_iter(source)
        .map(|c| c[1].to_owned())
        .collect()
}

/// The document's channels that a server of `protocol` carries.
fn channels_on(api: &AsyncApi, protocol: &str) -> BTreeSet<String> {
    let document = api.document();
    document["channels"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, channel)| {
            channel["servers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|server| api.resolve(server).unwrap()["protocol"].as_str() == Some(protocol))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn every_catalogue_event_is_a_message_its_nats_channel_publishes() {
    // Arrange
    let api = AsyncApi::committed();
    let samples = catalogue_samples();

    // Act
    let mut channels = BTreeSet::new();
    let mut event_types = BTreeSet::new();
    for mut row in samples {
        row.traceparent = Some(TRACEPARENT.to_owned());
        let envelope = row.to_envelope(Some("gateway-a"));
        let payload: Value = serde_json::from_slice(&envelope.payload).unwrap();
        let headers = published_headers(&envelope);
        api.check_message(&envelope.subject, Action::Send, Some(&headers), &payload)
            .unwrap_or_else(|e| panic!("{e}"));
        channels.extend(api.channels_matching(&envelope.subject));
        event_types.insert(payload["event_type"].as_str().unwrap().to_owned());
    }
    let live = live_sample();
    let payload: Value = serde_json::from_slice(&live.payload).unwrap();
    api.check_message(
        &live.subject,
        Action::Send,
        Some(&published_headers(&live)),
        &payload,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    channels.extend(api.channels_matching(&live.subject));

    // Assert: both ways, so a channel without an event in the code fails as well.
    assert_eq!(channels, channels_on(&api, "nats"));
    assert_eq!(
        event_types,
        event_types_in(CATALOGUE_SOURCE),
        "every event_type named in shared/src/events/catalog.rs needs a sample here"
    );
}

/// The live copy of a committed message, as the committing replica hands it to the others.
fn live_sample() -> Envelope {
    let message = stored(RoomId::generate(), "Hozir");
    let frame = frames::message_frame(&message);
    chat_gateway::events::live_copy(
        &message,
        UserId::new_random(),
        &frame,
        Some(TRACEPARENT),
        "gateway-b",
    )
}

/// A message of `room` as the store hands it back after its commit.
fn stored(room: RoomId, text: &str) -> Message {
    NewMessage::new(
        room,
        chat_gateway::domain::SenderType::Visitor,
        MessageText::parse(text).unwrap(),
        None,
    )
    .stored(shared::time::now(), 1)
}

#[test]
fn the_fan_out_receives_the_live_copies_the_gateway_publishes() {
    // Arrange
    let api = AsyncApi::committed();
    let envelope = live_sample();
    let payload: Value = serde_json::from_slice(&envelope.payload).unwrap();

    // Act
    let received = api.check_message(
        &envelope.subject,
        Action::Receive,
        Some(&published_headers(&envelope)),
        &payload,
    );

    // Assert
    assert_eq!(received.as_deref(), Ok("liveMessage"));
}

#[test]
fn every_frame_the_gateway_sends_is_in_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let room = RoomId(Uuid::new_v4());
    let address = format!("/ws/chat/{room}/");
    let message = stored(room, "Salom");

    // Act
    let broadcast: Value = serde_json::from_str(frames::message_frame(&message).as_str()).unwrap();
    let refusals: Vec<Value> = refusal_texts()
        .iter()
        .map(|reason| serde_json::from_str(frames::error_frame(reason).as_str()).unwrap())
        .collect();

    // Assert
    assert_eq!(
        api.check_message(&address, Action::Send, None, &broadcast),
        Ok("chatMessage".to_owned())
    );
    for refusal in &refusals {
        assert_eq!(
            api.check_message(&address, Action::Send, None, refusal),
            Ok("frameError".to_owned())
        );
    }
    let documented: BTreeSet<String> = api.document()["components"]["schemas"]["ErrorFrame"]
        ["properties"]["error"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(documented, refusal_texts(), "both ways");
}

/// Every text an error frame can carry: the refusals of `ws::frames::reason` and every
/// `MessageTextError`.
fn refusal_texts() -> BTreeSet<String> {
    let module = FRAMES_SOURCE
        .split_once("pub mod reason {")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split_once("\n}"))
        .map(|(module, _)| module)
        .expect("ws/frames.rs has `pub mod reason`");
    let constant = regex::Regex::new(r#"pub const [A-Z_]+: &str = ("(?:[^"\\]|\\.)*");"#).unwrap();
    let mut texts: BTreeSet<String> = constant
        .captures_iter(module)
        .map(|c| serde_json::from_str::<String>(&c[1]).unwrap())
        .collect();
    assert!(texts.len() >= 7, "reasons found: {texts:?}");
    for error in [
        MessageTextError::Blank,
        MessageTextError::TooLong,
        MessageTextError::NullCharacter,
    ] {
        // No wildcard: a new error breaks this match, which leads here to add it to the list.
        match error {
            MessageTextError::Blank
            | MessageTextError::TooLong
            | MessageTextError::NullCharacter => {}
        }
        texts.insert(error.to_string());
    }
    texts
}

#[test]
fn every_close_code_the_gateway_sends_is_in_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let constant = regex::Regex::new(r"pub const (CLOSE_[A-Z_]+): u16 = (\d+);").unwrap();
    let call = regex::Regex::new(r#"close\((CLOSE_[A-Z_]+), "([^"]+)"\)"#).unwrap();

    // Act
    let codes: std::collections::HashMap<&str, u64> = constant
        .captures_iter(SESSION_SOURCE)
        .map(|c| (c.get(1).unwrap().as_str(), c[2].parse().unwrap()))
        .collect();
    let sent: BTreeSet<(u64, String)> = call
        .captures_iter(SESSION_SOURCE)
        .map(|c| (codes[&c[1]], c[2].to_owned()))
        .collect();
    let documented: BTreeSet<(u64, String)> = api.document()["channels"]["roomSocket"]
        ["x-close-codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_u64().unwrap(),
                c["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    // Assert
    assert!(sent.len() >= 4, "close calls found: {sent:?}");
    assert_eq!(documented, sent, "both ways");
}

#[tokio::test]
async fn a_real_socket_s_frames_and_close_fit_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.ws_ping_interval_secs = 1;
        c.ws_idle_timeout_secs = 2;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    let chat = app.start_chat_with(&owner).await;
    let address = format!("/ws/chat/{}/", chat.room_id);
    let mut socket = app.open_ws(&chat.room_id, &chat.visitor()).await;
    let sent = json!({"message": "Salom"});

    // Act
    socket.send_text(&sent.to_string()).await;
    let broadcast = socket.next_json().await;
    socket.send_text("not JSON").await;
    let refusal = socket.next_json().await;
    // Never answering a ping, so the idle timeout closes the socket.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (_, ending) = socket.read_to_end(Duration::from_secs(10)).await;

    // Assert
    assert_eq!(
        api.check_message(&address, Action::Receive, None, &sent),
        Ok("sendMessage".to_owned())
    );
    assert_eq!(
        api.check_message(&address, Action::Send, None, &broadcast),
        Ok("chatMessage".to_owned())
    );
    assert_eq!(
        api.check_message(&address, Action::Send, None, &refusal),
        Ok("frameError".to_owned())
    );
    let Ending::Closed(Some((code, reason))) = ending else {
        panic!("expected a close frame, got {ending:?}");
    };
    let close_codes = &api.document()["channels"]["roomSocket"]["x-close-codes"];
    assert!(
        close_codes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == code && c["reason"] == reason.as_str()),
        "{code} {reason} is not in x-close-codes"
    );
}

#[tokio::test]
async fn the_chat_events_a_real_nats_carries_fit_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let app = spawn_app(Backend::Postgres).await;
    let owner = TestOwner::registered(&app).await;
    let mut subscription = app.subscribe_chat_events().await;

    // Act
    let chat = app.start_chat_with(&owner).await;
    app.chat(&chat.room_id, &chat.visitor(), &["Salom"]).await;
    let mut received = Vec::new();
    for _ in 0..2 {
        let message = tokio::time::timeout(PATIENCE, subscription.next())
            .await
            .expect("an event within PATIENCE")
            .expect("the subscription is open");
        received.push(message);
    }

    // Assert
    let mut messages = Vec::new();
    for message in &received {
        let subject = message.subject.as_str().trim_start_matches(&app.prefix);
        let payload: Value = serde_json::from_slice(&message.payload).unwrap();
        let headers = wire_headers(message.headers.as_ref());
        assert!(headers.get("Nats-Msg-Id").is_some(), "{headers}");
        messages.push(
            api.check_message(subject, Action::Send, Some(&headers), &payload)
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(messages, ["roomCreated", "messagePosted"]);
}

/// Every header of a NATS message, by the name it was sent with.
fn wire_headers(headers: Option<&async_nats::HeaderMap>) -> Value {
    let mut object = serde_json::Map::new();
    for (name, values) in headers.into_iter().flat_map(|h| h.iter()) {
        for value in values {
            let name: &str = name.as_ref();
            object.insert(name.to_owned(), json!(value.as_str()));
        }
    }
    Value::Object(object)
}

#[test]
fn the_document_s_examples_fit_its_schemas() {
    // Arrange
    let api = AsyncApi::committed();
    let messages = api.document()["components"]["messages"]
        .as_object()
        .unwrap();

    // Act + Assert
    assert!(!messages.is_empty());
    for (name, message) in messages {
        let examples = message["examples"].as_array();
        assert!(
            examples.is_some_and(|e| !e.is_empty()),
            "{name} has no example"
        );
        for example in examples.into_iter().flatten() {
            api.check(&example["payload"], &message["payload"])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Some(headers) = example.get("headers") {
                api.check(headers, &message["headers"])
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
}

#[test]
fn the_document_is_asyncapi_3_for_this_version() {
    // Arrange + Act
    let api = AsyncApi::committed();

    // Assert
    assert_eq!(api.document()["asyncapi"], "3.0.0");
    assert_eq!(
        api.document()["info"]["version"],
        env!("CARGO_PKG_VERSION"),
        "docs/asyncapi.yaml describes this version of the code"
    );
}
