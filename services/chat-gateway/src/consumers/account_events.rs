//! The owner projection: `accounts.users.*` events, applied idempotently to the local `owners`
//! table, so starting a chat never depends on accounts-api being up.
//!
//! The durable consumer's name is stored in this service's own database: a fresh database
//! gets a new name and so a full replay of the stream.

use std::{sync::Arc, time::Duration};

use futures::{stream::BoxStream, FutureExt};
use shared::events::{applying, catalog::AccountEvent, Delivery, EventBus};
use tokio_util::sync::CancellationToken;

use crate::store::{ChatStore, Owner, StoreError};

/// Projection-state key of the durable consumer name.
const CONSUMER_KEY: &str = "owner_consumer";

/// Applies one delivery; `Err` only when the database is unavailable (retry, do not ack).
pub async fn apply(store: &dyn ChatStore, delivery: &Delivery) -> Result<(), StoreError> {
    let event = match AccountEvent::from_envelope(&delivery.envelope) {
        Ok((_, event)) => event,
        Err(e) => {
            tracing::warn!(error = %e, subject = %delivery.envelope.subject, "skipping undecodable account event");
            return Ok(());
        }
    };
    let snapshot = event.snapshot();
    store
        .upsert_owner(&Owner {
            id: snapshot.id,
            is_registered: snapshot.is_registered,
            is_profile_public: snapshot.is_profile_public,
            version: snapshot.version,
        })
        .await
}

/// The durable consumer name for this database.
pub async fn consumer_name(store: &dyn ChatStore) -> Result<String, StoreError> {
    let fresh = format!("chat-owners-{}", uuid::Uuid::new_v4().simple());
    store.projection_value(CONSUMER_KEY, &fresh).await
}

/// Subscribes the projection's durable consumer. Returns once the subscription exists, so a
/// caller can start publishers after it (the in-process bus keeps nothing for late joiners).
pub async fn subscribe(
    bus: &dyn EventBus,
    store: &dyn ChatStore,
    stop: &CancellationToken,
) -> Option<BoxStream<'static, Delivery>> {
    let name = loop {
        match consumer_name(store).await {
            Ok(name) => break name,
            Err(e) => {
                tracing::warn!(error = %e, "owner projection waiting for the database");
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    loop {
        match bus.consume_durable(&name, AccountEvent::ALL).await {
            Ok(stream) => return Some(stream),
            Err(e) => {
                tracing::warn!(error = %e, "owner projection waiting for the bus");
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Applies deliveries until `stop`.
pub async fn run(
    deliveries: BoxStream<'static, Delivery>,
    store: Arc<dyn ChatStore>,
    stop: CancellationToken,
) {
    let span = |delivery: &Delivery| {
        tracing::info_span!(
            "accounts.project_owner",
            messaging.system = "nats",
            messaging.operation = "process",
            messaging.destination.name = %delivery.envelope.subject,
        )
    };
    applying::apply_each(
        deliveries,
        stop,
        span,
        |delivery| {
            let store = store.clone();
            async move { apply(store.as_ref(), delivery).await }.boxed()
        },
        |()| {},
    )
    .await;
}
