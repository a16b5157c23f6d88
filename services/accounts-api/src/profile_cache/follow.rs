//! Keeps the cache current from the bus: a live (core) subscription to `accounts.users.>`,
//! which every replica receives, this one's own events included. It must not let the cache
//! serve while it might be missing events: the cache serves only between a subscription and
//! its end, and is emptied on every reconnection of the bus.

use std::time::Duration;

use futures::StreamExt;
use shared::events::{bus::reconnected, catalog::AccountEvent, Envelope};
use tokio_util::sync::CancellationToken;

use super::PublicProfileCache;

/// How long after a reconnection the client's re-subscription has surely reached the server.
const RESUBSCRIBED: Duration = Duration::from_secs(1);

impl PublicProfileCache {
    /// Follows the account events until `stop` is cancelled. Returns at once when the cache
    /// is off.
    pub async fn follow_events(&self, stop: CancellationToken) {
        if !self.enabled() {
            return;
        }
        let mut reconnections = self.bus.reconnections();
        let mut backoff = Duration::from_millis(100);
        loop {
            let subscribed = tokio::select! {
                () = stop.cancelled() => break,
                subscribed = self.bus.subscribe(AccountEvent::ALL) => subscribed,
            };
            let mut events = match subscribed {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "profile cache could not subscribe; retrying");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            // Whatever the watch says now happened before this subscription existed.
            if let Some(watch) = reconnections.as_mut() {
                watch.mark_unchanged();
            }
            self.reset(true);
            let settled = tokio::time::sleep(Duration::MAX);
            tokio::pin!(settled);
            let mut settling = false;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    event = events.next() => match event {
                        Some(envelope) => self.apply(&envelope),
                        None => break,
                    },
                    // Events published while the connection was down never reach a core
                    // subscription. Once now, and once more when the client's re-subscription
                    // has surely reached the server.
                    true = reconnected(&mut reconnections) => {
                        self.reset(true);
                        settled.as_mut().reset(tokio::time::Instant::now() + RESUBSCRIBED);
                        settling = true;
                    }
                    () = &mut settled, if settling => {
                        settling = false;
                        self.reset(true);
                    }
                }
            }
            self.reset(false);
            if stop.is_cancelled() {
                break;
            }
            tracing::warn!("public profile cache lost its subscription; subscribing again");
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
        }
    }

    fn apply(&self, envelope: &Envelope) {
        match AccountEvent::from_envelope(envelope) {
            Ok((_, event)) => {
                let user = event.snapshot();
                self.changed(user.id, user.version);
            }
            Err(e) => {
                // Which profile changed is unknown: none of them can be trusted.
                tracing::warn!(
                    error = %e,
                    subject = %envelope.subject,
                    "undecodable account event; dropping every cached public profile"
                );
                self.reset(true);
            }
        }
    }
}
