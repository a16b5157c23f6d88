//! Which IP addresses a push endpoint may reach: only globally routable unicast ones. A push
//! endpoint is a URL a browser hands us and the server calls later, so without this check a
//! subscriber could make the notifier POST into the cluster (its metadata service, NATS,
//! Postgres' neighbours). std's `IpAddr::is_global` is unstable, so the ranges are listed here,
//! from the IANA special-purpose registries (RFC 6890 and its updates).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared
/// (CGNAT), unspecified, multicast, broadcast, documentation, benchmarking or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NOT_PUBLIC: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private (RFC 1918)
        ([100, 64, 0, 0], 10),   // shared address space, CGNAT (RFC 6598)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata services
        ([172, 16, 0, 0], 12),   // private (RFC 1918)
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
        ([192, 168, 0, 0], 16),  // private (RFC 1918)
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and the broadcast address
        ([255, 255, 255, 255], 32),
    ];
    !NOT_PUBLIC
        .iter()
        .any(|&(net, prefix)| in_v4(ip, net, prefix))
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // An IPv4 address in IPv6 clothing is judged as the IPv4 address it reaches.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // NAT64 (RFC 6052) and 6to4 (RFC 3056) reach the IPv4 address they embed.
    if in_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return is_public_v4(embedded_v4(segments[6], segments[7]));
    }
    if in_v6(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return is_public_v4(embedded_v4(segments[1], segments[2]));
    }
    // Global unicast is 2000::/3; everything else (loopback, unspecified, IPv4-compatible,
    // unique local fc00::/7, link-local fe80::/10, site-local, multicast, discard 100::/64,
    // local-use NAT64 64:ff9b:1::/48) is not.
    let global_unicast = in_v6(ip, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
    // Inside it: IETF protocol assignments (Teredo, ORCHID, benchmarking) and documentation.
    let special = in_v6(ip, Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23)
        || in_v6(ip, Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32)
        || in_v6(ip, Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20);
    global_unicast && !special
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "192.0.2.10",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "2001::1",
            "::127.0.0.1",
        ] {
            assert!(!public(ip), "{ip} counts as public");
        }
    }

    #[test]
    fn global_unicast_addresses_are_public() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(public(ip), "{ip} does not count as public");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_address_in_a_private_ipv4_range_is_refused(host in proptest::prelude::any::<u32>()) {
            for (net, prefix) in [([10, 0, 0, 0], 8u32), ([192, 168, 0, 0], 16), ([127, 0, 0, 0], 8), ([169, 254, 0, 0], 16), ([100, 64, 0, 0], 10)] {
                let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                let ip = Ipv4Addr::from((u32::from(Ipv4Addr::from(net)) & mask) | (host & !mask));
                proptest::prop_assert!(!is_public(IpAddr::V4(ip)));
                proptest::prop_assert!(!is_public(IpAddr::V6(ip.to_ipv6_mapped())));
            }
        }
    }
}
