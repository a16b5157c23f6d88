//! `metrics-cardinality`: requests with invented HTTP methods and invented paths. A metrics
//! layer that labels series with the raw method or path grows one series per invention,
//! without bound; the figure is the growth of the `/metrics` body. The requests rotate over
//! three shapes (invented method on a real route, real method on an invented path, both) so
//! a growth can be traced to the label that caused it.

use anyhow::Context;
use futures::{stream, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};

use super::{describe, random, tally::Tally, AbuseArgs};

/// A route that exists, to pair with invented methods.
const REAL_PATH: &str = "/api/login/";

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let metrics_base = args.metrics_base.as_deref().unwrap_or(&args.base);
    let before = scrape(&http, metrics_base)
        .await
        .context("metrics before")?;
    let tally = stream::iter(0..args.metrics_requests)
        .map(|i| {
            let http = &http;
            async move {
                let invented_method = format!("X{:08X}", random::next_u64() >> 32);
                let invented_path = format!("/{:016x}/{:08x}/", random::next_u64(), i);
                let (method, path) = match i % 3 {
                    0 => (invented_method.as_str(), REAL_PATH),
                    1 => ("GET", invented_path.as_str()),
                    _ => (invented_method.as_str(), invented_path.as_str()),
                };
                let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
                http.request(method, format!("{}{path}", args.base))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(describe)
            }
        })
        .buffer_unordered(args.metrics_concurrency.max(1))
        .fold(Tally::default(), |mut tally, outcome| async move {
            tally.add(outcome);
            tally
        })
        .await;
    let after = scrape(&http, metrics_base).await.context("metrics after")?;
    Ok(json!({
        "requests": args.metrics_requests,
        "status_counts": tally.to_json(),
        "metrics_bytes_before": before.bytes,
        "metrics_bytes_after": after.bytes,
        "metrics_bytes_growth": after.bytes.saturating_sub(before.bytes),
        "series_before": before.series,
        "series_after": after.series,
        "series_growth": after.series.saturating_sub(before.series),
    }))
}

/// Size of one `/metrics` scrape.
struct Scrape {
    bytes: usize,
    /// Sample lines (not `#` comments): one per series.
    series: usize,
}

async fn scrape(http: &reqwest::Client, base: &str) -> anyhow::Result<Scrape> {
    let body = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let series = body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    Ok(Scrape {
        bytes: body.len(),
        series,
    })
}
