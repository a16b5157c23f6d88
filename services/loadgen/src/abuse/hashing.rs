//! `hashing`: a burst of concurrent logins for distinct, valid-looking, unregistered phones.
//! None is throttled by phone, so each costs a full password hash (the server hashes unknown
//! phones too, to keep timing equal). The figures are the server's peak memory during the
//! burst, and whether the refusals it sends when its hashers are busy carry `Retry-After`.
//!
//! Every login comes from its own source address: from one address the per-address throttle
//! would refuse most of the burst before any hasher saw it, measuring the throttle instead.

use serde_json::{json, Value};

use super::{login, random, rss::RssSampler, tally::Tally, AbuseArgs};

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let clients = login::clients(&args.base, login::BLOCK_HASHING, args.burst_logins)?;
    let phones: Vec<String> = (0..args.burst_logins)
        .map(|_| format!("+99890{}", random::digits(7)))
        .collect();
    let sampler = RssSampler::start(args.server_pid.as_deref());
    let started = std::time::Instant::now();
    let outcomes = futures::future::join_all(phones.iter().enumerate().map(|(i, phone)| {
        login::attempt(
            &clients[i % clients.len()],
            &args.base,
            phone,
            "wrong-password",
        )
    }))
    .await;
    let burst_seconds = started.elapsed().as_secs_f64();
    let server_memory = sampler.finish().await;

    let mut tally = Tally::default();
    let mut refused_without_retry_after = 0u64;
    for outcome in outcomes {
        if let Ok(attempt) = &outcome {
            if attempt.status == 429 && !attempt.retry_after {
                refused_without_retry_after += 1;
            }
        }
        tally.add(outcome.map(|a| a.status));
    }
    Ok(json!({
        "logins": args.burst_logins,
        "source_addresses": clients.len(),
        "burst_seconds": burst_seconds,
        "status_counts": tally.to_json(),
        "every_429_had_retry_after": refused_without_retry_after == 0,
        "429_without_retry_after": refused_without_retry_after,
        "server_memory": server_memory,
    }))
}
