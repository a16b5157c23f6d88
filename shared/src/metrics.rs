//! Prometheus metrics: one recorder per process, rendered at `/metrics` by every service.

use std::{sync::OnceLock, time::Duration};

use axum::http::{Method, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns the handle that renders it.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("chat_commit_batch_size".to_owned()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

/// The text exposition for `/metrics`.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}

/// A method as a label: clients can send any token as a method, and every distinct label
/// value is a new time series kept for ever, so anything outside the standard set is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// One HTTP request: count and latency by method, route and status. `route` must be a route
/// template (or `unmatched`), never a raw path, for the same reason as [`method_label`].
pub fn record_request(method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.to_owned()),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// One publish attempt of `count` events.
pub fn record_publish(count: usize, elapsed: Duration, ok: bool) {
    metrics::histogram!("nats_publish_duration_seconds").record(elapsed.as_secs_f64());
    if ok {
        metrics::counter!("events_published_total").increment(count as u64);
    } else {
        metrics::counter!("nats_publish_failures_total").increment(1);
    }
}

/// Events waiting in one of a service's outboxes (`outbox`: the table the relay reads).
pub fn set_outbox_backlog(service: &'static str, outbox: &'static str, pending: i64) {
    metrics::gauge!("outbox_backlog", "service" => service, "outbox" => outbox).set(pending as f64);
}

/// Open and idle connections of one service's pool.
pub fn set_pool_usage(service: &'static str, size: u32, idle: usize) {
    metrics::gauge!("db_pool_connections", "service" => service).set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections", "service" => service).set(idle as f64);
}
