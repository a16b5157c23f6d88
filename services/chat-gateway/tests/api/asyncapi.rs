//! `docs/asyncapi.yaml` against the code: every event of the catalogue, every live envelope
//! the replicas hand each other, every frame the gateway sends on a room socket or an owner
//! channel, every refusal text and every close code are in the document with the fields the
//! code writes; what real sockets and a real NATS server carry fits its schemas; and the
//! document's own examples fit them too.
//!
//! The lists come from the code, not from a copy here: events, envelopes and frames are
//! serialised from real values, and the refusal texts and close codes, which the code keeps as
//! constants and literal arguments rather than an enum, are read from the source files the
//! crate is built from.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the helpers here fail the test by panicking, as the tests do"
)]

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use chat_gateway::{
    domain::{
        message_text::MessageTextError, ClientId, Message, MessageText, NewMessage, Room, RoomId,
        SenderType as Side,
    },
    events::{self, LiveEvent},
    fanout::Signal,
    ws::frames,
};
use futures::StreamExt;
use regex::Regex;
use reqwest::Method;
use serde_json::{json, Value};
use shared::{
    config::Backend,
    events::{
        catalog::{
            live, AccountEvent, MessagePosted, OwnerSettingsChanged, RoomCreated, SenderType,
            UserSnapshot,
        },
        outbox::OutboxEvent,
        Envelope,
    },
    ids::UserId,
    testing::asyncapi::{Action, AsyncApi},
};
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, Ending, TestApp, TestOwner, WsClient, PATIENCE};

const CATALOGUE_SOURCE: &str = include_str!("../../../../shared/src/events/catalog.rs");
const FRAMES_SOURCE: &str = include_str!("../../src/ws/frames.rs");
const SESSION_SOURCE: &str = include_str!("../../src/ws/session.rs");
const INCOMING_SOURCE: &str = include_str!("../../src/ws/incoming.rs");
const SOCKET_IO_SOURCE: &str = include_str!("../../src/ws/socket_io.rs");
const OWNER_CHANNEL_SOURCE: &str = include_str!("../../src/ws/owner_channel.rs");

/// The owner channel's address.
const OWNER_CHANNEL: &str = "/ws/owner/";

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
    // Both shapes of the one nullable field: no quiet hours, and quiet until a time.
    for quiet_until in [None, Some(now + chrono::Duration::hours(8))] {
        samples.push(
            OwnerSettingsChanged {
                owner_id: snapshot.id,
                accepting_messages: quiet_until.is_some(),
                quiet_until,
                version: 1,
                updated_at: now,
            }
            .to_outbox(),
        );
    }
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
    let literal = Regex::new(r#""((?:accounts|chat)\.[a-z_]+\.[a-z_]+)""#).unwrap();
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

/// A text frame or a NATS payload, as JSON.
fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
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
        let payload = json_of(&envelope.payload);
        let headers = published_headers(&envelope);
        api.check_message(&envelope.subject, Action::Send, Some(&headers), &payload)
            .unwrap_or_else(|e| panic!("{e}"));
        channels.extend(api.channels_matching(&envelope.subject));
        event_types.insert(payload["event_type"].as_str().unwrap().to_owned());
    }
    for live in live_samples() {
        api.check_message(
            &live.subject,
            Action::Send,
            Some(&published_headers(&live)),
            &json_of(&live.payload),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        channels.extend(api.channels_matching(&live.subject));
    }
    // `EventBus::sync` on NATS: a request with no bytes and no headers.
    api.check_message(live::SYNC, Action::Send, None, &json!(""))
        .unwrap_or_else(|e| panic!("{e}"));
    channels.extend(api.channels_matching(live::SYNC));

    // Assert: both ways, so a channel without an event in the code fails as well.
    assert_eq!(channels, channels_on(&api, "nats"));
    assert_eq!(
        event_types,
        event_types_in(CATALOGUE_SOURCE),
        "every event_type named in shared/src/events/catalog.rs needs a sample here"
    );
}

/// One live envelope of every kind a replica hands the others, in this order: a committed
/// message's copy, a typing and a read signal, and a room's new state.
fn live_samples() -> Vec<Envelope> {
    let owner = UserId::new_random();
    let message = stored(RoomId::generate(), "Hozir");
    let room = message.room_id;
    let changed = room_of(owner, Some(&message));
    let samples = vec![
        events::live_copy(
            &message,
            owner,
            &frames::message_frame(&message),
            Some(TRACEPARENT),
            "gateway-b",
        ),
        events::live_signal(
            room,
            owner,
            Side::Visitor,
            Signal::Typing,
            &frames::typing_frame(room, Side::Visitor),
            "gateway-b",
        ),
        events::live_signal(
            room,
            owner,
            Side::Owner,
            Signal::Read(message.id),
            &frames::read_frame(room, Side::Owner, message.id),
            "gateway-b",
        ),
        events::live_room(&changed, &frames::owner_room_frame(&changed), "gateway-b"),
        events::live_state(&changed, &frames::room_state_frame(&changed), "gateway-b"),
    ];
    // No wildcards: a new kind of live event or signal breaks these matches, which leads here
    // to add its sample above.
    let kinds: Vec<&str> = samples
        .iter()
        .map(
            |envelope| match events::from_live(envelope).expect("readable") {
                LiveEvent::Message(..) => "message",
                LiveEvent::Signal(_, Signal::Typing, _) => "typing",
                LiveEvent::Signal(_, Signal::Read(_), _) => "read",
                LiveEvent::Room(_) => "room",
                LiveEvent::State(_) => "state",
            },
        )
        .collect();
    assert_eq!(kinds, ["message", "typing", "read", "room", "state"]);
    samples
}

/// A message of `room` as the store hands it back after its commit.
fn stored(room: RoomId, text: &str) -> Message {
    NewMessage::new(room, Side::Visitor, MessageText::parse(text).unwrap(), None)
        .stored(shared::time::now(), 1)
}

/// A room of `owner` as the store hands it back: just created, or with `message` as its
/// newest, unread by the owner and read by the visitor.
fn room_of(owner: UserId, message: Option<&Message>) -> Room {
    let now = shared::time::now();
    Room {
        id: message.map_or_else(RoomId::generate, |m| m.room_id),
        owner_id: owner,
        visitor_name: "Neighbour from 4B".into(),
        is_active: true,
        is_blocked: false,
        created_at: now,
        updated_at: now,
        last_message: message.cloned(),
        unread_count: i64::from(message.is_some()),
        visitor_last_read_id: message.map(|m| m.id),
    }
}

#[test]
fn the_fan_out_receives_the_live_envelopes_the_gateway_publishes() {
    // Arrange
    let api = AsyncApi::committed();
    let samples = live_samples();

    // Act
    let received: Vec<String> = samples
        .iter()
        .map(|envelope| {
            api.check_message(
                &envelope.subject,
                Action::Receive,
                Some(&published_headers(envelope)),
                &json_of(&envelope.payload),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();

    // Assert
    assert_eq!(
        received,
        [
            "liveMessage",
            "liveTyping",
            "liveRead",
            "liveRoom",
            "liveState"
        ]
    );
}

#[test]
fn every_frame_the_gateway_sends_is_in_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let owner = UserId::new_random();
    let room = RoomId(Uuid::new_v4());
    let room_socket = format!("/ws/chat/{room}/");
    let message = stored(room, "Salom");
    let broadcast = frames::message_frame(&message);
    let typing = frames::typing_frame(room, Side::Visitor);
    let read = frames::read_frame(room, Side::Owner, message.id);
    let open = room_of(owner, Some(&message));
    let blocked = Room {
        is_active: false,
        is_blocked: true,
        ..open.clone()
    };
    let refusals = refusals();

    // Act
    let mut sent = vec![
        (room_socket.as_str(), broadcast.clone(), "chatMessage"),
        (
            room_socket.as_str(),
            frames::with_client_id(&broadcast, ClientId(Uuid::new_v4())),
            "chatMessage",
        ),
        (room_socket.as_str(), typing.clone(), "typing"),
        (room_socket.as_str(), read.clone(), "read"),
        (
            room_socket.as_str(),
            frames::room_state_frame(&blocked),
            "roomState",
        ),
        (
            room_socket.as_str(),
            frames::room_state_frame(&open),
            "roomState",
        ),
        (
            OWNER_CHANNEL,
            frames::owner_message_frame(&broadcast),
            "message",
        ),
        (
            OWNER_CHANNEL,
            frames::owner_room_frame(&room_of(owner, None)),
            "room",
        ),
        (OWNER_CHANNEL, frames::owner_room_frame(&open), "room"),
        (OWNER_CHANNEL, frames::owner_room_frame(&blocked), "room"),
        (OWNER_CHANNEL, typing, "typing"),
        (OWNER_CHANNEL, read, "read"),
    ];
    for reason in &refusals.room_socket {
        sent.push((
            room_socket.as_str(),
            frames::error_frame(reason),
            "frameError",
        ));
    }
    for reason in &refusals.owner_channel {
        sent.push((OWNER_CHANNEL, frames::error_frame(reason), "frameError"));
    }

    // Assert
    for (address, frame, key) in &sent {
        assert_eq!(
            api.check_message(
                address,
                Action::Send,
                None,
                &json_of(frame.as_str().as_bytes())
            ),
            Ok((*key).to_owned()),
            "{}",
            frame.as_str()
        );
    }
    assert_eq!(
        documented_errors(&api, "ErrorFrame"),
        refusals.room_socket,
        "both ways"
    );
    assert_eq!(
        documented_errors(&api, "ReceiveOnlyErrorFrame"),
        refusals.owner_channel,
        "both ways"
    );
}

/// The `error` texts schema `name` lists.
fn documented_errors(api: &AsyncApi, name: &str) -> BTreeSet<String> {
    api.document()["components"]["schemas"][name]["properties"]["error"]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} lists its error texts"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Every text an error frame can carry, by the socket that sends it.
struct Refusals {
    room_socket: BTreeSet<String>,
    owner_channel: BTreeSet<String>,
}

/// The refusals of `ws::frames::reason`, each on the sockets whose source names it (the room
/// socket's session and `parse_client_frame`, which only the session calls; the owner
/// channel), and every `MessageTextError`, which `parse_client_frame` answers.
fn refusals() -> Refusals {
    let module = FRAMES_SOURCE
        .split_once("pub mod reason {")
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .map(|(module, _)| module)
        .expect("ws/frames.rs has `pub mod reason`");
    // The module names no `reason::` itself; the unit tests below it do not count.
    let frames_code = FRAMES_SOURCE.split("#[cfg(test)]").next().unwrap();
    let constant = Regex::new(r#"pub const ([A-Z_]+): &str = ("(?:[^"\\]|\\.)*");"#).unwrap();
    let mut refusals = Refusals {
        room_socket: BTreeSet::new(),
        owner_channel: BTreeSet::new(),
    };
    for c in constant.captures_iter(module) {
        let text: String = serde_json::from_str(&c[2]).unwrap();
        let used = format!("reason::{}", &c[1]);
        let in_room_socket = SESSION_SOURCE.contains(&used)
            || INCOMING_SOURCE.contains(&used)
            || frames_code.contains(&used);
        let in_owner_channel = OWNER_CHANNEL_SOURCE.contains(&used);
        assert!(in_room_socket || in_owner_channel, "no socket sends {used}");
        if in_room_socket {
            refusals.room_socket.insert(text.clone());
        }
        if in_owner_channel {
            refusals.owner_channel.insert(text);
        }
    }
    assert!(
        refusals.room_socket.len() >= 12
            && refusals.room_socket.contains(frames::reason::ROOM_CLOSED),
        "reasons found: {:?}",
        refusals.room_socket
    );
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
        refusals.room_socket.insert(error.to_string());
    }
    refusals
}

#[test]
fn every_close_code_the_gateway_sends_is_in_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let constant = Regex::new(r"pub const (CLOSE_[A-Z_]+): u16 = (\d+);").unwrap();
    let codes: HashMap<String, u64> = constant
        .captures_iter(SOCKET_IO_SOURCE)
        .map(|c| (c[1].to_owned(), c[2].parse().unwrap()))
        .collect();

    // Act
    let room_socket = close_frames_in(SESSION_SOURCE, &codes);
    let owner_channel = close_frames_in(OWNER_CHANNEL_SOURCE, &codes);

    // Assert
    assert!(room_socket.len() >= 5, "close calls found: {room_socket:?}");
    assert!(
        owner_channel.len() >= 4,
        "close calls found: {owner_channel:?}"
    );
    assert_eq!(
        documented_close_codes(&api, "roomSocket"),
        room_socket,
        "both ways"
    );
    assert_eq!(
        documented_close_codes(&api, "ownerChannel"),
        owner_channel,
        "both ways"
    );
}

/// Every `close(CLOSE_…, "reason")` call in `source`, as (code, reason).
fn close_frames_in(source: &str, codes: &HashMap<String, u64>) -> BTreeSet<(u64, String)> {
    let call =
        Regex::new(r#"close\(\s*(?:[a-z_]+::)*(CLOSE_[A-Z_]+),\s*"([^"]+)",?\s*\)"#).unwrap();
    call.captures_iter(source)
        .map(|c| {
            let code = codes
                .get(&c[1])
                .unwrap_or_else(|| panic!("{} is not a known close code", &c[1]));
            (*code, c[2].to_owned())
        })
        .collect()
}

/// The `x-close-codes` of `channel`, as (code, reason).
fn documented_close_codes(api: &AsyncApi, channel: &str) -> BTreeSet<(u64, String)> {
    api.document()["channels"][channel]["x-close-codes"]
        .as_array()
        .unwrap_or_else(|| panic!("{channel} has x-close-codes"))
        .iter()
        .map(|c| {
            (
                c["code"].as_u64().unwrap(),
                c["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Whether `code` and `reason` are among `channel`'s `x-close-codes`.
fn is_documented_close(api: &AsyncApi, channel: &str, ending: &Ending) -> bool {
    let Ending::Closed(Some((code, reason))) = ending else {
        panic!("expected a close frame, got {ending:?}");
    };
    documented_close_codes(api, channel).contains(&(u64::from(*code), reason.clone()))
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
    assert!(
        is_documented_close(&api, "roomSocket", &ending),
        "{ending:?} is not in x-close-codes"
    );
}

/// A conversation on `carinfo.v2` sockets, watched by the owner's channel.
struct Conversation {
    /// The room socket's address.
    room_socket: String,
    /// What the two room sockets sent, in order.
    sent: Vec<Value>,
    /// What the two room sockets got, in order.
    got: Vec<Value>,
    /// What the owner's channel heard, in order.
    heard: Vec<Value>,
    /// The owner's channel, still open.
    channel: WsClient,
    /// The owner.
    owner: TestOwner,
    /// The room's id.
    room_id: String,
    /// The visitor's room socket, still open, with nothing left to read.
    visitor: WsClient,
    /// The owner's room socket, still open, with nothing left to read.
    owner_socket: WsClient,
}

/// The owner opens a channel, a visitor starts a chat; on `carinfo.v2` sockets the visitor
/// types and sends a message with a `client_id`, and the owner reads it.
async fn converse(app: &TestApp) -> Conversation {
    let owner = TestOwner::registered(app).await;
    let mut channel = app.open_owner_channel(&owner).await;
    let chat = app.start_chat_with(&owner).await;
    let mut heard = vec![channel.next_json().await];
    let mut visitor = app.open_v2(&chat.room_id, &chat.visitor(), None).await;
    let mut owner_socket = app.open_v2(&chat.room_id, &owner.auth(), None).await;
    let typing = json!({ "type": "typing" });
    let message = json!({ "message": "Salom", "client_id": Uuid::new_v4().to_string() });

    visitor.send_json(&typing).await;
    let mut got = vec![owner_socket.next_json().await];
    heard.push(channel.next_json().await);
    visitor.send_json(&message).await;
    got.push(visitor.next_json().await);
    got.push(owner_socket.next_json().await);
    heard.push(channel.next_json().await);
    heard.push(channel.next_json().await);
    let read = json!({ "type": "read", "message_id": got[2]["id"] });
    owner_socket.send_json(&read).await;
    got.push(visitor.next_json().await);
    heard.push(channel.next_json().await);
    heard.push(channel.next_json().await);

    Conversation {
        room_socket: format!("/ws/chat/{}/", chat.room_id),
        sent: vec![typing, message, read],
        got,
        heard,
        channel,
        owner,
        room_id: chat.room_id,
        visitor,
        owner_socket,
    }
}

/// The owner closes the conversation's room, and checks it was done.
async fn close_room(app: &TestApp, talk: &Conversation) {
    let response = app
        .control_room(Method::POST, &talk.room_id, "close", &talk.owner.auth())
        .await;
    assert_eq!(response.status(), 200);
}

/// The message of the document that `action` carries at `address` and that `frame` fits.
fn message_keys(api: &AsyncApi, address: &str, action: Action, frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|frame| {
            api.check_message(address, action, None, frame)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

#[tokio::test]
async fn real_v2_sockets_and_an_owner_channel_fit_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.ws_ping_interval_secs = 1;
        c.ws_idle_timeout_secs = 3;
    })
    .await;

    // Act
    let mut talk = converse(&app).await;
    // The owner closes the room: both room sockets and the channel hear it, and the visitor's
    // next message is refused.
    close_room(&app, &talk).await;
    talk.got.push(talk.visitor.next_json().await);
    talk.got.push(talk.owner_socket.next_json().await);
    talk.heard.push(talk.channel.next_json().await);
    let refused = json!({ "message": "Yana" });
    talk.visitor.send_json(&refused).await;
    talk.sent.push(refused);
    talk.got.push(talk.visitor.next_json().await);
    talk.channel.send_text("salom").await;
    let refusal = talk.channel.next_json().await;
    // Never answering a ping, so the idle timeout closes the channel.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (_, ending) = talk.channel.read_to_end(Duration::from_secs(10)).await;

    // Assert
    let room = talk.room_socket.as_str();
    assert_eq!(
        message_keys(&api, room, Action::Receive, &talk.sent),
        ["sendTyping", "sendMessage", "sendRead", "sendMessage"]
    );
    assert_eq!(
        message_keys(&api, room, Action::Send, &talk.got),
        [
            "typing",
            "chatMessage",
            "chatMessage",
            "read",
            "roomState",
            "roomState",
            "frameError"
        ]
    );
    assert!(
        talk.got[1].get("client_id").is_some(),
        "the echo: {}",
        talk.got[1]
    );
    assert_eq!(talk.got[4]["is_active"], false, "{}", talk.got[4]);
    assert_eq!(talk.got[6]["error"], frames::reason::ROOM_CLOSED);
    assert_eq!(
        message_keys(&api, OWNER_CHANNEL, Action::Send, &talk.heard),
        ["room", "typing", "message", "room", "read", "room", "room"]
    );
    assert_eq!(talk.heard[6]["room"]["is_active"], false);
    assert_eq!(
        message_keys(&api, OWNER_CHANNEL, Action::Send, &[refusal]),
        ["frameError"]
    );
    assert!(
        is_documented_close(&api, "ownerChannel", &ending),
        "{ending:?} is not in x-close-codes"
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
    let mut received = next_messages(&mut subscription, 2).await;
    let paused = json!({ "accepting_messages": false, "quiet_until": "2031-01-02T03:04:05+02:00" });
    let response = app.settings(Method::PUT, &owner, Some(&paused)).await;
    assert_eq!(response.status(), 200);
    received.extend(next_messages(&mut subscription, 1).await);

    // Assert
    assert_eq!(
        nats_message_keys(&api, &app, &received),
        ["roomCreated", "messagePosted", "ownerSettingsChanged"]
    );
}

#[tokio::test]
async fn the_live_subjects_a_real_nats_carries_fit_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let app = spawn_app(Backend::Postgres).await;
    let client = async_nats::connect(app.nats_url.as_deref().expect("NATS"))
        .await
        .expect("NATS reachable");
    let mut subscription = client
        .subscribe(format!("{}live.chat.owners.>", app.prefix))
        .await
        .expect("subscribed");
    // As `EventBus::sync` does: the answer (no responders) proves the subscription in place.
    let _ = client
        .request(format!("{}{}", app.prefix, live::SYNC), "".into())
        .await;

    // Act
    let talk = converse(&app).await;
    close_room(&app, &talk).await;
    let received = next_messages(&mut subscription, 8).await;

    // Assert
    let keys = nats_message_keys(&api, &app, &received);
    assert_eq!(
        keys,
        [
            "liveRoom",
            "liveTyping",
            "liveMessage",
            "liveRoom",
            "liveRead",
            "liveRoom",
            "liveState",
            "liveRoom"
        ]
    );
    for message in &received {
        let subject = message.subject.as_str().trim_start_matches(&app.prefix);
        let headers = wire_headers(message.headers.as_ref());
        api.check_message(
            subject,
            Action::Receive,
            Some(&headers),
            &json_of(&message.payload),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The next `count` messages of `subscription`, each within [`PATIENCE`].
async fn next_messages(
    subscription: &mut async_nats::Subscriber,
    count: usize,
) -> Vec<async_nats::Message> {
    let mut received = Vec::with_capacity(count);
    for _ in 0..count {
        let message = tokio::time::timeout(PATIENCE, subscription.next())
            .await
            .expect("a message within PATIENCE")
            .expect("the subscription is open");
        received.push(message);
    }
    received
}

/// The message of the document that each NATS message fits, as published, with its headers.
fn nats_message_keys(
    api: &AsyncApi,
    app: &TestApp,
    received: &[async_nats::Message],
) -> Vec<String> {
    received
        .iter()
        .map(|message| {
            let subject = message.subject.as_str().trim_start_matches(&app.prefix);
            let headers = wire_headers(message.headers.as_ref());
            assert!(headers.get("Nats-Msg-Id").is_some(), "{headers}");
            api.check_message(
                subject,
                Action::Send,
                Some(&headers),
                &json_of(&message.payload),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
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
