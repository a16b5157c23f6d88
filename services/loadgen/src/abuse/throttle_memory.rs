//! `throttle-memory`: failed logins, each with a fresh ~60 KB phone number and a wrong
//! password. A throttle keyed by the raw phone string keeps every such key until it is
//! swept, so the figure is how much resident memory the server gains and keeps. From one
//! address (the default) the per-address throttle refuses most attempts before the per-phone
//! one sees them; `--login-sources 256` spreads them as an attacker with many addresses would.
//!
//! The attempts the throttle lets through (the 401s) each run a password hash, whose buffers
//! the allocator may keep; to see the keys alone, run `hashing` first in a separate run so the
//! allocator is already warm.

use std::time::Duration;

use futures::{stream, StreamExt};
use serde_json::{json, Value};

use super::{login, random, rss::RssSampler, tally::Tally, AbuseArgs};

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let clients = login::clients(&args.base, login::BLOCK_THROTTLE_MEMORY, args.login_sources)?;
    // One shared tail keeps the loadgen's own memory flat; the random head makes every key new.
    let tail = random::digits(args.phone_bytes);
    let sampler = RssSampler::start(args.server_pid.as_deref());
    let tally = stream::iter(0..args.throttle_logins)
        .map(|i| {
            let http = &clients[i % clients.len()];
            let phone = format!("+998{}{tail}", random::next_u64());
            async move {
                login::attempt(http, &args.base, &phone, "wrong-password")
                    .await
                    .map(|a| a.status)
            }
        })
        .buffer_unordered(args.login_concurrency.max(1))
        .fold(Tally::default(), |mut tally, outcome| async move {
            tally.add(outcome);
            tally
        })
        .await;
    // Let per-request buffers be freed so "after" shows what the server keeps.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(json!({
        "logins": args.throttle_logins,
        "phone_bytes": args.phone_bytes,
        "source_addresses": clients.len(),
        "status_counts": tally.to_json(),
        "server_memory": sampler.finish().await,
    }))
}
