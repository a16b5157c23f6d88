//! Applying durable deliveries one at a time, as every consumer of a stream does: each is
//! applied until its effect is stored (a database outage must not lose it), then acknowledged.

use std::{fmt::Display, time::Duration};

use futures::{future::BoxFuture, stream::BoxStream, StreamExt};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span};

use super::{trace_context, Delivery};

/// Applies `deliveries` until `stop` or the stream ends. For each: `apply` is retried with
/// backoff until it succeeds, inside `span` (which continues the event's trace), then the
/// delivery is acknowledged and `applied` gets the outcome.
pub async fn apply_each<T, E: Display>(
    mut deliveries: BoxStream<'static, Delivery>,
    stop: CancellationToken,
    span: impl Fn(&Delivery) -> Span,
    mut apply: impl for<'a> FnMut(&'a Delivery) -> BoxFuture<'a, Result<T, E>>,
    mut applied: impl FnMut(T),
) {
    loop {
        let delivery = tokio::select! {
            () = stop.cancelled() => return,
            next = deliveries.next() => match next {
                Some(delivery) => delivery,
                None => return,
            },
        };
        let span = span(&delivery);
        trace_context::continue_remote(&span, delivery.envelope.header("traceparent"));
        let mut backoff = Duration::from_millis(100);
        let outcome = loop {
            match apply(&delivery).instrument(span.clone()).await {
                Ok(outcome) => break outcome,
                Err(e) => {
                    tracing::warn!(error = %e, subject = %delivery.envelope.subject, "cannot apply an event; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        };
        delivery.ack().await;
        applied(outcome);
    }
}
