//! NATS JetStream behind [`EventBus`]: events are stored in two streams (`ACCOUNTS`, `CHAT`)
//! for consumers that were offline, de-duplicated by `Nats-Msg-Id`, and reach live core
//! subscribers (the gateway replicas' per-room fan-out). Core subscriptions miss what is
//! published while a connection is re-established, so the bus reports every reconnection.
//!
//! A subject prefix (and the matching stream-name prefix) lets several deployments, or tests,
//! share one NATS server without seeing each other.
//!
//! Each stream is created by the first process that publishes or consumes its events, and by
//! no other: with per-service NATS permissions (`deploy/nats/nats.conf`) a process may touch
//! only the streams it uses.

use std::{sync::Arc, time::Duration};

use async_nats::{
    jetstream::{self, consumer::pull, context::PublishErrorKind, stream},
    HeaderMap,
};
use async_trait::async_trait;
use futures::{stream::BoxStream, StreamExt};
use tokio::sync::{mpsc, watch, OnceCell};
use tokio_stream::wrappers::ReceiverStream;

use super::{
    bus::{Ack, BusError, Delivery, Envelope, EventBus},
    nats_auth::NatsAuth,
};

/// How long JetStream remembers a `Nats-Msg-Id` to drop re-publishes.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long chat events stay in their stream.
const CHAT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The size bounds of the two streams. A full stream drops its oldest events (the databases
/// are the source of truth), so it never refuses a publish for being full.
#[derive(Debug, Clone, clap::Args)]
pub struct StreamLimits {
    /// Bytes the CHAT stream keeps at most (plus 7 days at most).
    #[arg(long, env = "NATS_CHAT_STREAM_MAX_BYTES", default_value_t = 1 << 30)]
    pub nats_chat_stream_max_bytes: i64,
    /// Bytes the ACCOUNTS stream keeps at most: it keeps the latest event of each subject
    /// (an owner's registration and latest update), about 2 KB per owner.
    #[arg(long, env = "NATS_ACCOUNTS_STREAM_MAX_BYTES", default_value_t = 1 << 30)]
    pub nats_accounts_stream_max_bytes: i64,
}

impl StreamLimits {
    /// No bound in bytes (`-1`), for tools and tests on a shared server: JetStream reserves a
    /// stream's `max_bytes` out of the server's storage the moment the stream is created, so
    /// many short-lived bounded streams would exhaust it. Services get bounds from their
    /// settings.
    pub fn unbounded() -> Self {
        Self {
            nats_chat_stream_max_bytes: -1,
            nats_accounts_stream_max_bytes: -1,
        }
    }
}

/// The NATS-backed bus.
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    subject_prefix: String,
    stream_prefix: String,
    /// One per family: `accounts`, then `chat`.
    streams_ready: Arc<[OnceCell<()>; 2]>,
    reconnections: watch::Receiver<u64>,
    limits: StreamLimits,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

/// The event family of a logical subject: `accounts` for `accounts.…`, `chat` for the rest.
fn family(subject: &str) -> &'static str {
    if subject.starts_with("accounts") {
        "accounts"
    } else {
        "chat"
    }
}

impl NatsBus {
    /// Connects to `url` without credentials. The connection is retried in the background,
    /// so a service starts (and keeps accepting writes into its outbox) while NATS is down.
    pub async fn connect(url: &str, subject_prefix: &str) -> Result<Self, BusError> {
        Self::connect_with_auth(url, subject_prefix, &NatsAuth::default()).await
    }

    /// Like [`Self::connect`], as the user (or token, or creds file) in `auth`. Wrong
    /// credentials do not fail here: the client keeps retrying, and the bus stays unconnected.
    pub async fn connect_with_auth(
        url: &str,
        subject_prefix: &str,
        auth: &NatsAuth,
    ) -> Result<Self, BusError> {
        // The first `Connected` comes while the service is still being built, before its ops
        // router installs the recorder; without one it would be dropped, and `nats_connected`
        // would only appear after the first reconnection.
        let _ = crate::metrics::handle();
        let (reconnected, reconnections) = watch::channel(0u64);
        let options = auth.apply(async_nats::ConnectOptions::new()).await?;
        let client = options
            .event_callback(move |event| {
                let reconnected = reconnected.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            metrics::gauge!("nats_connected").set(1.0);
                            tracing::info!("connected to NATS");
                            reconnected.send_modify(|n| *n += 1);
                        }
                        async_nats::Event::Disconnected => {
                            metrics::gauge!("nats_connected").set(0.0);
                            tracing::warn!(
                                "lost the connection to NATS: events wait in the outbox and other replicas' messages are caught up from the database on reconnection"
                            );
                        }
                        _ => {}
                    }
                }
            })
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .client_capacity(65_536)
            .connect(url)
            .await
            .map_err(unavailable)?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(Duration::from_secs(5));
        let stream_prefix = stream_prefix(subject_prefix);
        Ok(Self {
            client,
            jetstream,
            subject_prefix: subject_prefix.to_owned(),
            stream_prefix,
            streams_ready: Arc::new([OnceCell::new(), OnceCell::new()]),
            reconnections,
            limits: StreamLimits::unbounded(),
        })
    }

    /// The same bus, creating (or bringing up to date) its streams with `limits`.
    pub fn with_stream_limits(mut self, limits: StreamLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The underlying client, for tests and tools.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The stream holding `subject`'s events: `<PREFIX>ACCOUNTS` or `<PREFIX>CHAT`.
    pub fn stream_name_for(&self, subject: &str) -> String {
        format!(
            "{}{}",
            self.stream_prefix,
            family(subject).to_ascii_uppercase()
        )
    }

    /// The configuration this service wants for `family`'s stream, applied over `base` so
    /// that settings an operator made on an existing stream (replicas, placement, a message
    /// size cap) are kept.
    fn stream_config(&self, family: &str, base: stream::Config) -> stream::Config {
        let chat = family == "chat";
        stream::Config {
            name: self.stream_name_for(family),
            subjects: vec![format!("{}{family}.>", self.subject_prefix)],
            duplicate_window: DUPLICATE_WINDOW,
            // Chat events are kept long enough for consumers that were offline. Account events
            // are owner snapshots: the latest of each subject is all a fresh projection needs.
            max_age: if chat { CHAT_RETENTION } else { Duration::ZERO },
            max_messages_per_subject: if chat { -1 } else { 1 },
            max_bytes: if chat {
                self.limits.nats_chat_stream_max_bytes
            } else {
                self.limits.nats_accounts_stream_max_bytes
            },
            discard: stream::DiscardPolicy::Old,
            storage: stream::StorageType::File,
            ..base
        }
    }

    /// Creates the stream of `subject`'s family, or brings an existing one's retention up to
    /// date (once per bus).
    async fn ensure_stream(&self, subject: &str) -> Result<(), BusError> {
        let family = family(subject);
        let ready = &self.streams_ready[usize::from(family == "chat")];
        ready
            .get_or_try_init(|| async {
                let name = self.stream_name_for(family);
                let Ok(mut existing) = self.jetstream.get_stream(&name).await else {
                    let config = self.stream_config(family, stream::Config::default());
                    self.jetstream
                        .get_or_create_stream(config)
                        .await
                        .map_err(unavailable)?;
                    return Ok(());
                };
                let current = existing.info().await.map_err(unavailable)?.config.clone();
                let wanted = self.stream_config(family, current.clone());
                let retention = |c: &stream::Config| {
                    (c.max_bytes, c.max_age, c.max_messages_per_subject, c.discard)
                };
                if retention(&wanted) != retention(&current) {
                    // The stream works as it is; a process not allowed to edit it (NATS
                    // permissions) or configured differently from the stream's owner says so
                    // and goes on.
                    if let Err(e) = self.jetstream.update_stream(wanted).await {
                        tracing::warn!(error = %e, stream = %name, "could not update the stream's retention");
                    }
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    fn to_envelope(&self, message: &async_nats::Message) -> Envelope {
        envelope_of(&self.subject_prefix, message)
    }
}

/// The stream-name prefix of a subject prefix: uppercased, every other character `_`
/// (`staging.` → `STAGING_`), so `<prefix>CHAT` and `<prefix>ACCOUNTS` name its streams.
pub fn stream_prefix(subject_prefix: &str) -> String {
    subject_prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The envelope of a message received under `subject_prefix`.
fn envelope_of(subject_prefix: &str, message: &async_nats::Message) -> Envelope {
    let subject = message.subject.as_str();
    let subject = subject
        .strip_prefix(subject_prefix)
        .unwrap_or(subject)
        .to_owned();
    let mut headers = Vec::new();
    let mut id = uuid::Uuid::nil();
    if let Some(map) = &message.headers {
        for (name, values) in map.iter() {
            for value in values {
                let name: &str = name.as_ref();
                if name.eq_ignore_ascii_case("Nats-Msg-Id") {
                    id = value.as_str().parse().unwrap_or_default();
                }
                headers.push((name.to_owned(), value.as_str().to_owned()));
            }
        }
    }
    Envelope {
        id,
        subject,
        payload: message.payload.clone(),
        headers,
    }
}

/// `Nats-Msg-Id` (the event id) and the envelope's own headers.
fn headers_of(event: &Envelope) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", event.id.to_string().as_str());
    for (name, value) in &event.headers {
        headers.insert(name.as_str(), value.as_str());
    }
    headers
}

struct JetStreamAck(jetstream::Message);

#[async_trait]
impl Ack for JetStreamAck {
    async fn ack(self: Box<Self>) {
        if let Err(e) = self.0.ack().await {
            tracing::warn!(error = %e, "could not acknowledge an event; it will be redelivered");
        }
    }
}

#[async_trait]
impl EventBus for NatsBus {
    async fn publish_batch(&self, events: &[Envelope]) -> Result<(), BusError> {
        for event in events {
            self.ensure_stream(&event.subject).await?;
        }
        let mut acks = Vec::with_capacity(events.len());
        for event in events {
            let ack = self
                .jetstream
                .publish_with_headers(
                    format!("{}{}", self.subject_prefix, event.subject),
                    headers_of(event),
                    event.payload.clone(),
                )
                .await
                .map_err(unavailable)?;
            acks.push(ack);
        }
        let mut refused = Vec::new();
        let acks =
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await;
        for (index, ack) in acks.into_iter().enumerate() {
            match ack {
                Ok(_) => {}
                // JetStream answered with an error for this message (stream full, message too
                // large, ...): asking again would get the same answer.
                Err(e) if e.kind() == PublishErrorKind::Other => {
                    let reason = std::error::Error::source(&e)
                        .map_or_else(|| e.to_string(), ToString::to_string);
                    refused.push((index, reason));
                }
                // No answer, or no stream listening: the broker is not there; retry later.
                Err(e) => return Err(unavailable(e)),
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(BusError::Refused(refused))
        }
    }

    async fn publish_live(&self, events: &[Envelope]) -> Result<(), BusError> {
        for event in events {
            self.client
                .publish_with_headers(
                    format!("{}{}", self.subject_prefix, event.subject),
                    headers_of(event),
                    event.payload.clone(),
                )
                .await
                .map_err(unavailable)?;
        }
        // Returns once the server has them: a copy still in this process's buffers when it
        // dies would reach no other replica.
        self.client.flush().await.map_err(unavailable)
    }

    async fn subscribe(&self, filter: &str) -> Result<BoxStream<'static, Envelope>, BusError> {
        // A core subscription: cheap enough for one per room with local sockets. Whatever it
        // misses while the connection is being re-established, callers recover from their
        // database when `reconnections` moves.
        let subscriber = self
            .client
            .subscribe(format!("{}{filter}", self.subject_prefix))
            .await
            .map_err(unavailable)?;
        // The SUB is on its way to the server when this returns (async-nats's flush writes the
        // connection's buffer; it does not wait for the server's answer), so the server
        // delivers what is published from a moment later on. Callers that must miss nothing
        // read their database after this call, and again after reconnections.
        self.client.flush().await.map_err(unavailable)?;
        // Each room of a gateway holds one of these: the stream keeps the prefix, not a bus.
        let prefix: Arc<str> = Arc::from(self.subject_prefix.as_str());
        Ok(subscriber
            .map(move |message| envelope_of(&prefix, &message))
            .boxed())
    }

    async fn sync(&self, probe: &str) -> Result<(), BusError> {
        // The server handles a connection's operations in order and answers a request nobody
        // subscribes to with "no responders": that answer proves the earlier ones done.
        match self
            .client
            .request(
                format!("{}{probe}", self.subject_prefix),
                bytes::Bytes::new(),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn reconnections(&self) -> Option<watch::Receiver<u64>> {
        // Moves from now on: connections made before the caller asked are not news to it.
        let mut reconnections = self.reconnections.clone();
        reconnections.borrow_and_update();
        Some(reconnections)
    }

    async fn consume_durable(
        &self,
        name: &str,
        filter: &str,
    ) -> Result<BoxStream<'static, Delivery>, BusError> {
        let (sender, receiver) = mpsc::channel(1024);
        let bus = self.clone();
        let name = name.to_owned();
        let filter = format!("{}{filter}", self.subject_prefix);
        // The pull loop is rebuilt whenever NATS goes away, so the caller sees one endless stream.
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while !sender.is_closed() {
                match bus.pull_into(&name, &filter, &sender).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        tracing::warn!(error = %e, consumer = %name, "durable consumer interrupted; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
        Ok(ReceiverStream::new(receiver).boxed())
    }

    fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

impl NatsBus {
    async fn pull_into(
        &self,
        name: &str,
        filter: &str,
        sender: &mpsc::Sender<Delivery>,
    ) -> Result<(), BusError> {
        let logical = filter
            .strip_prefix(self.subject_prefix.as_str())
            .unwrap_or(filter);
        self.ensure_stream(logical).await?;
        let stream = self
            .jetstream
            .get_stream(self.stream_name_for(logical))
            .await
            .map_err(unavailable)?;
        let consumer = stream
            .get_or_create_consumer(
                name,
                pull::Config {
                    durable_name: Some(name.to_owned()),
                    filter_subject: filter.to_owned(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    deliver_policy: jetstream::consumer::DeliverPolicy::All,
                    ack_wait: Duration::from_secs(30),
                    ..Default::default()
                },
            )
            .await
            .map_err(unavailable)?;
        let mut messages = consumer.messages().await.map_err(unavailable)?;
        loop {
            // Stop pulling as soon as the consumer is gone (its service stopped): a message
            // pulled for nobody waits out `ack_wait` before anyone else gets it.
            let next = tokio::select! {
                () = sender.closed() => return Ok(()),
                next = messages.next() => next,
            };
            let Some(message) = next else { break };
            let message = message.map_err(unavailable)?;
            let envelope = self.to_envelope(&message);
            let delivery = Delivery {
                envelope,
                acker: Some(Box::new(JetStreamAck(message))),
            };
            if sender.send(delivery).await.is_err() {
                return Ok(());
            }
        }
        Err(BusError::Unavailable("consumer stream ended".into()))
    }
}
