//! `throttle-race`: a burst of concurrent wrong-password logins for the owner's phone from one
//! address. A throttle that checks before hashing and counts only after lets the whole burst
//! through; the figure is how many were verified (401) versus refused (429). Then, when the
//! real password is given, it tries the owner's own login from the same and from another
//! address: the lockout an attacker can impose on the owner.
//!
//! This leaves the phone throttled for the burst's address, so it runs after the other login
//! cases.

use anyhow::Context;
use serde_json::{json, Value};

use super::{login, required, tally::Tally, AbuseArgs};

/// Runs the case.
pub async fn run(args: &AbuseArgs) -> anyhow::Result<Value> {
    let phone = required(args.phone.as_ref(), "--phone")?;
    // Two addresses: the burst comes from the first, the owner's second try from the other.
    let clients = login::clients(&args.base, login::BLOCK_THROTTLE_RACE, 2)?;
    let attacker = clients.first().context("no http client")?;
    let bystander = clients.get(1).unwrap_or(attacker);

    let started = std::time::Instant::now();
    let outcomes = futures::future::join_all((0..args.burst_logins).map(|i| async move {
        let password = format!("wrong-password-{i}");
        login::attempt(attacker, &args.base, phone, &password).await
    }))
    .await;
    let burst_seconds = started.elapsed().as_secs_f64();
    let mut tally = Tally::default();
    for outcome in outcomes {
        tally.add(outcome.map(|a| a.status));
    }

    let owner_after = match args.password.as_deref() {
        Some(password) => {
            let status = |outcome: Result<login::Attempt, String>| match outcome {
                Ok(a) => json!(a.status),
                Err(e) => json!(e),
            };
            let same = login::attempt(attacker, &args.base, phone, password).await;
            let other = login::attempt(bystander, &args.base, phone, password).await;
            json!({ "same_address": status(same), "other_address": status(other) })
        }
        None => Value::Null,
    };
    Ok(json!({
        "logins": args.burst_logins,
        "burst_seconds": burst_seconds,
        "verified_401": tally.count(401),
        "refused_429": tally.count(429),
        "status_counts": tally.to_json(),
        "owner_login_after": owner_after,
    }))
}
