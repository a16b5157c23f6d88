//! From pending rooms to push requests, in two durable steps that tests can drive one at a
//! time:
//!
//! 1. [`Dispatcher::schedule_due`]: each room whose notification is due becomes one delivery
//!    row per subscription of its owner, in the transaction that moves the room's window
//!    (`PendingRoom::dispatch`), unless the owner is paused or quiet.
//! 2. [`Dispatcher::send_due`]: deliveries due now are leased and sent, at most
//!    `PUSH_CONCURRENCY` at once, each bounded by `PUSH_SEND_TIMEOUT_SECS`; the answer
//!    deletes the delivery, deletes a gone subscription, or reschedules it with backoff.
//!
//! Sending runs in its own tasks, so a slow push service never holds up the consumer or
//! other deliveries. A delivery whose outcome was not recorded (the process died mid-send)
//! is leased again once its lease ends: at least once, with the `Topic` header letting the
//! push service replace a repeat.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::{
    sync::{Notify, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    consumer::silence_label,
    domain::OwnerSettings,
    push::{Outcome, PushSender},
    store::{DueDelivery, NotifierStore, StoreError},
};

/// Rooms dispatched per pass.
const ROOMS_PER_PASS: i64 = 128;
/// How often due work is looked for without a wake-up (coalescing windows end, retries).
const POLL: Duration = Duration::from_millis(250);

/// The two steps and the loop around them.
pub struct Dispatcher {
    store: Arc<dyn NotifierStore>,
    sender: PushSender,
    window: chrono::Duration,
    max_attempts: u32,
    retry_base: Duration,
    retry_max: Duration,
    lease: chrono::Duration,
    slots: Arc<Semaphore>,
    /// Woken when an event made a room due.
    due: Arc<Notify>,
}

impl Dispatcher {
    /// A dispatcher with the settings of `config`.
    pub fn new(
        config: &Config,
        store: Arc<dyn NotifierStore>,
        sender: PushSender,
        due: Arc<Notify>,
    ) -> Self {
        let timeout = config.send_timeout();
        Self {
            store,
            sender,
            window: config.coalesce_window(),
            max_attempts: config.push_max_attempts,
            retry_base: Duration::from_millis(config.push_retry_base_ms),
            retry_max: Duration::from_secs(config.push_retry_max_secs),
            // Longer than any send, so a live sender is never raced by another replica.
            lease: chrono::Duration::from_std(timeout).unwrap_or_default()
                + chrono::Duration::seconds(30),
            slots: Arc::new(Semaphore::new(
                usize::try_from(config.push_concurrency).unwrap_or(1).max(1),
            )),
            due,
        }
    }

    /// Step 1: turns every due room into deliveries (or drops it, for a silent owner).
    /// Returns the deliveries queued.
    pub async fn schedule_due(&self) -> Result<usize, StoreError> {
        let now = shared::time::now();
        let mut queued = 0;
        for room in self.store.list_due_rooms(now, ROOMS_PER_PASS).await? {
            let settings = self.store.find_owner_settings(room.owner_id).await?;
            let silence = OwnerSettings::silence(settings.as_ref(), now);
            let dispatch = room.dispatch(now, self.window, silence);
            // `None`: an event changed the room since it was read; the next pass sees it.
            let Some(deliveries) = self
                .store
                .record_dispatch(room.revision, &dispatch, now)
                .await?
            else {
                continue;
            };
            if let Some(silence) = silence {
                metrics::counter!("notifications_suppressed_total", "reason" => silence_label(silence))
                    .increment(1);
            }
            if dispatch.notification.is_some() {
                tracing::info!(room.id = %room.room_id, user.id = %room.owner_id, deliveries, "notification queued");
                metrics::counter!("notifications_queued_total").increment(deliveries as u64);
            }
            queued += deliveries;
        }
        Ok(queued)
    }

    /// Step 2: leases what is due and as many as there are free slots, and sends each in a
    /// task of `in_flight` that records its outcome.
    pub async fn send_due(
        self: &Arc<Self>,
        in_flight: &mut JoinSet<()>,
    ) -> Result<usize, StoreError> {
        let free = self.slots.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = shared::time::now();
        let claimed = self
            .store
            .claim_deliveries(now, now + self.lease, i64::try_from(free).unwrap_or(1))
            .await?;
        let count = claimed.len();
        for delivery in claimed {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                break;
            };
            let this = self.clone();
            in_flight.spawn(async move {
                let outcome = this.sender.send(&delivery).await;
                this.record(&delivery, outcome).await;
                drop(slot);
            });
        }
        Ok(count)
    }

    /// Both steps once, waiting for every send to finish: what tests drive.
    pub async fn step(self: &Arc<Self>) -> Result<(), StoreError> {
        self.schedule_due().await?;
        let mut in_flight = JoinSet::new();
        self.send_due(&mut in_flight).await?;
        while in_flight.join_next().await.is_some() {}
        Ok(())
    }

    async fn record(&self, delivery: &DueDelivery, outcome: Outcome) {
        let result = match outcome {
            Outcome::Delivered => {
                metrics::counter!("notifications_sent_total").increment(1);
                self.store.complete_delivery(delivery.id).await
            }
            Outcome::Gone => {
                tracing::info!(delivery.id = %delivery.id, "subscription gone; removed");
                metrics::counter!("notifications_failed_total", "reason" => "gone").increment(1);
                self.store.remove_endpoint(&delivery.endpoint).await
            }
            Outcome::Rejected(reason) => {
                tracing::warn!(delivery.id = %delivery.id, %reason, "notification dropped");
                metrics::counter!("notifications_failed_total", "reason" => "rejected")
                    .increment(1);
                self.store.complete_delivery(delivery.id).await
            }
            Outcome::Retry { after, reason } => {
                let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
                if attempts >= self.max_attempts {
                    tracing::warn!(delivery.id = %delivery.id, %reason, attempts, "notification given up");
                    metrics::counter!("notifications_failed_total", "reason" => "exhausted")
                        .increment(1);
                    self.store.complete_delivery(delivery.id).await
                } else {
                    let wait = self.retry_delay(attempts, after);
                    tracing::info!(delivery.id = %delivery.id, %reason, attempts, wait_ms = wait.as_millis() as u64, "notification retried later");
                    metrics::counter!("push_retries_total").increment(1);
                    self.store
                        .retry_delivery(delivery.id, retry_at(shared::time::now(), wait))
                        .await
                }
            }
        };
        if let Err(e) = result {
            // The lease runs out and the delivery is sent again.
            tracing::warn!(error = %e, delivery.id = %delivery.id, "could not record a push outcome");
        }
    }

    /// `Retry-After` when the push service gave one, else the base doubled per attempt;
    /// never more than the maximum.
    fn retry_delay(&self, attempts: u32, after: Option<Duration>) -> Duration {
        let backoff = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)));
        after.unwrap_or(backoff).min(self.retry_max)
    }

    /// Runs both steps whenever an event made something due and every [`POLL`], until
    /// `stop`; then lets the sends in flight finish and record their outcomes.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut in_flight = JoinSet::new();
        loop {
            if let Err(e) = self.schedule_due().await {
                tracing::warn!(error = %e, "could not dispatch due notifications");
            }
            if let Err(e) = self.send_due(&mut in_flight).await {
                tracing::warn!(error = %e, "could not lease due deliveries");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.due.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }
}

fn retry_at(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1))
}
