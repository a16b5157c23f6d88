//! Where a push endpoint may lead: checked when a browser subscribes and again at every send.
//!
//! A push endpoint is a URL the server will call, so a subscriber could name an address
//! inside the deployment. Every address a host resolves to must be public
//! ([`crate::domain::address::is_public`]); the HTTP client resolves names only through
//! [`EndpointGuard`] (its `reqwest` resolver), so it connects to nothing but addresses vetted
//! at that moment, and a name that later resolves elsewhere (DNS rebinding) is refused then.
//! Literal addresses skip resolvers, so the sender checks them itself
//! ([`EndpointGuard::admit_literal`]). `PUSH_ALLOW_PRIVATE_ENDPOINTS` lifts the rule (tests,
//! a push service of one's own on a private network).

use std::net::{IpAddr, SocketAddr};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    Url,
};

use crate::domain::{address::is_public, PushEndpoint};

/// How long resolving an endpoint's host may take.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why an endpoint's host is refused; the message is the client's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The host is, or resolves to, an address that is not public.
    #[error("Push endpoints must be on a public host: {host} is {addr}, a loopback, private, link-local or reserved address.")]
    NotPublic {
        /// The URL's host.
        host: String,
        /// The first address refused.
        addr: IpAddr,
    },
    /// The host does not resolve.
    #[error("The endpoint's host {host} could not be resolved.")]
    Unresolved {
        /// The URL's host.
        host: String,
    },
}

/// The rule, and the resolver that applies it to every connection.
#[derive(Debug, Clone, Copy)]
pub struct EndpointGuard {
    allow_private: bool,
}

impl EndpointGuard {
    /// `allow_private` accepts every address (and `http` endpoints).
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Whether private endpoints are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Every one of `addrs` must be public.
    fn check(&self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Result<(), Refusal> {
        if self.allow_private {
            return Ok(());
        }
        match addrs.into_iter().find(|addr| !is_public(*addr)) {
            Some(addr) => Err(Refusal::NotPublic {
                host: host.to_owned(),
                addr,
            }),
            None => Ok(()),
        }
    }

    /// At subscription time: the host, a literal or every address it resolves to now.
    pub async fn admit(&self, endpoint: &PushEndpoint) -> Result<(), Refusal> {
        if self.allow_private {
            return Ok(());
        }
        if let Some(ip) = literal(endpoint.url()) {
            return self.check(&ip.to_string(), [ip]);
        }
        let host = endpoint.url().host_str().unwrap_or_default().to_owned();
        let addrs = resolve(&host).await?;
        self.check(&host, addrs.iter().map(SocketAddr::ip))
    }

    /// At send time, for a literal address, which the client's resolver never sees.
    pub fn admit_literal(&self, endpoint: &PushEndpoint) -> Result<(), Refusal> {
        match literal(endpoint.url()) {
            Some(ip) => self.check(&ip.to_string(), [ip]),
            None => Ok(()),
        }
    }
}

/// The URL's host when it is an IP address.
fn literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

async fn resolve(host: &str) -> Result<Vec<SocketAddr>, Refusal> {
    let unresolved = || Refusal::Unresolved {
        host: host.to_owned(),
    };
    // A resolver that never answers must not hold a subscription request (or a send) for ever.
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)));
    let addrs: Vec<SocketAddr> = lookup
        .await
        .map_err(|_| unresolved())?
        .map_err(|_| unresolved())?
        .collect();
    if addrs.is_empty() {
        return Err(unresolved());
    }
    Ok(addrs)
}

impl Resolve for EndpointGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&host).await?;
            guard.check(&host, addrs.iter().map(SocketAddr::ip))?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether a send failed because the guard refused where it would connect.
pub fn refusal_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> PushEndpoint {
        PushEndpoint::parse(url, true).unwrap()
    }

    #[tokio::test]
    async fn loopback_private_and_link_local_hosts_are_refused() {
        let guard = EndpointGuard::new(false);
        for url in [
            "https://127.0.0.1/p",
            "https://10.0.0.8/p",
            "https://169.254.169.254/latest",
            "https://[::1]/p",
            "https://[fd00::1]/p",
            "https://localhost:8443/p",
        ] {
            assert!(
                matches!(
                    guard.admit(&endpoint(url)).await,
                    Err(Refusal::NotPublic { .. })
                ),
                "{url}"
            );
        }
        assert!(guard.admit(&endpoint("https://8.8.8.8/p")).await.is_ok());
        assert!(EndpointGuard::new(true)
            .admit(&endpoint("http://127.0.0.1:1/p"))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        let guard = EndpointGuard::new(false);
        let name: Name = "localhost".parse().unwrap();
        let error = match Resolve::resolve(&guard, name).await {
            Ok(_) => panic!("localhost resolved"),
            Err(error) => error,
        };
        assert!(refusal_in(error.as_ref()).is_some(), "{error}");
        assert!(guard
            .admit_literal(&endpoint("https://127.0.0.1/p"))
            .is_err());
        assert!(guard
            .admit_literal(&endpoint("https://localhost/p"))
            .is_ok());
    }
}
