//! W3C trace context across the broker: the `traceparent` of the span that made a change is
//! stored with its outbox row, sent as a NATS header, and linked by consumers.

use std::collections::HashMap;

use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's `traceparent`, when tracing to OpenTelemetry is on.
pub fn current_traceparent() -> Option<String> {
    let context = Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the remote context in `traceparent`, so one trace runs from the
/// sender's request through the broker to the delivery on another replica.
pub fn continue_remote(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        span.set_parent(context);
    }
}
