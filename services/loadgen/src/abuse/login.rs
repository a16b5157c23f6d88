//! Login attempts for the throttle and hashing cases. Each case sends from its own block of
//! loopback source addresses (127.<block>.x.y), because the server throttles failed logins
//! per client address and one case's failures must not turn the next case's into 429s. Each
//! run starts at a random place in the block, so a rerun against the same server does not
//! inherit the previous run's throttled addresses.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Context;
use serde_json::json;

use super::{describe, random};
use crate::setup;

/// Source-address block of throttle-memory.
pub const BLOCK_THROTTLE_MEMORY: u8 = 1;
/// Source-address block of hashing.
pub const BLOCK_HASHING: u8 = 2;
/// Source-address block of throttle-race.
pub const BLOCK_THROTTLE_RACE: u8 = 3;

/// What one login attempt got back.
pub struct Attempt {
    /// The HTTP status.
    pub status: u16,
    /// Whether a `Retry-After` header came with it.
    pub retry_after: bool,
}

/// Addresses in a block: 254 usable last octets times 256 third octets.
const BLOCK_SIZE: usize = 254 * 256;

/// One HTTP client per source address, `count` of them from `block`. When the server is not
/// on IPv4 loopback there is no address to choose, so a single unbound client is returned.
pub fn clients(base: &str, block: u8, count: usize) -> anyhow::Result<Vec<reqwest::Client>> {
    let loopback = setup::server_addr(base)?.ip().is_loopback();
    let start = usize::try_from(random::next_u64() % BLOCK_SIZE as u64).unwrap_or_default();
    let sources: Vec<Option<IpAddr>> = if loopback {
        (0..count.max(1))
            .map(|n| Some(source(block, (start + n) % BLOCK_SIZE)))
            .collect()
    } else {
        vec![None]
    };
    sources
        .into_iter()
        .map(|source| {
            reqwest::Client::builder()
                .local_address(source)
                .build()
                .context("http client")
        })
        .collect()
}

/// The `n`-th address of `block`: 127.block.(n / 254).(1 + n % 254), skipping .0 and .255.
fn source(block: u8, n: usize) -> IpAddr {
    let third = u8::try_from(n / 254).unwrap_or(u8::MAX);
    let fourth = u8::try_from(1 + n % 254).unwrap_or(1);
    IpAddr::V4(Ipv4Addr::new(127, block, third, fourth))
}

/// Posts one login; `Err` when no HTTP response came back.
pub async fn attempt(
    http: &reqwest::Client,
    base: &str,
    phone: &str,
    password: &str,
) -> Result<Attempt, String> {
    let response = http
        .post(format!("{base}/api/login/"))
        .json(&json!({ "phone_number": phone, "password": password }))
        .send()
        .await
        .map_err(describe)?;
    Ok(Attempt {
        status: response.status().as_u16(),
        retry_after: response
            .headers()
            .contains_key(reqwest::header::RETRY_AFTER),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_stay_inside_their_block_and_avoid_network_and_broadcast_octets() {
        assert_eq!(source(2, 0), IpAddr::V4(Ipv4Addr::new(127, 2, 0, 1)));
        assert_eq!(source(2, 253), IpAddr::V4(Ipv4Addr::new(127, 2, 0, 254)));
        assert_eq!(source(2, 254), IpAddr::V4(Ipv4Addr::new(127, 2, 1, 1)));
        assert_eq!(
            source(2, BLOCK_SIZE - 1),
            IpAddr::V4(Ipv4Addr::new(127, 2, 255, 254))
        );
    }
}
