//! A look inside JetStream: every event the chat stream of a prefix holds, with its
//! `Nats-Msg-Id`, read by a fresh consumer of the test's own.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

/// The JetStream stream name of the chat events under `prefix`.
pub fn chat_stream_name(prefix: &str) -> String {
    format!("{}CHAT", shared::events::nats::stream_prefix(prefix))
}

/// One event as a JetStream consumer saw it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The subject without the prefix.
    pub subject: String,
    /// `Nats-Msg-Id`.
    pub msg_id: Option<String>,
    /// The JSON document.
    pub document: Value,
}

/// The `Nats-Msg-Id` header. Received headers use async-nats' standard name, which a plain
/// string key does not match, hence the constant.
pub fn nats_msg_id(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    headers
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_owned())
}

/// Every event of the chat stream under `prefix`, read by a fresh JetStream consumer.
pub async fn chat_stream_events(nats_url: &str, prefix: &str) -> Vec<StoredEvent> {
    use async_nats::jetstream::{self, consumer::pull};

    let client = async_nats::connect(nats_url).await.expect("NATS reachable");
    let js = jetstream::new(client);
    let stream = js
        .get_stream(chat_stream_name(prefix))
        .await
        .expect("the chat stream exists");
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            filter_subject: format!("{prefix}chat.>"),
            ..Default::default()
        })
        .await
        .expect("consumer created");
    let mut events = Vec::new();
    loop {
        let mut batch = consumer
            .batch()
            .max_messages(500)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .expect("batch requested");
        let mut got = 0;
        while let Some(message) = batch.next().await {
            let message = message.expect("message received");
            got += 1;
            let msg_id = nats_msg_id(message.headers.as_ref());
            events.push(StoredEvent {
                subject: message
                    .subject
                    .as_str()
                    .trim_start_matches(prefix)
                    .to_owned(),
                msg_id,
                document: serde_json::from_slice(&message.payload).expect("a JSON document"),
            });
            message.ack().await.expect("acked");
        }
        if got == 0 {
            return events;
        }
    }
}

impl super::TestApp {
    /// A core NATS subscription to every chat event of this app's prefix, confirmed by the
    /// server before it is returned, so nothing published afterwards is missed.
    pub async fn subscribe_chat_events(&self) -> async_nats::Subscriber {
        let client = async_nats::connect(self.nats_url.as_deref().expect("NATS"))
            .await
            .expect("NATS reachable");
        let subscription = client
            .subscribe(format!("{}chat.>", self.prefix))
            .await
            .expect("subscribed");
        client.flush().await.expect("subscription confirmed");
        subscription
    }
}
