//! Bounds on the TCP connections a listener holds: in all, and per client (an IPv4 address or
//! an IPv6 /64). A connection is counted from accept until its socket is dropped, WebSocket
//! sessions included, so one client cannot hold the process's file descriptors.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use super::extract::ClientKey;

/// The HTTP listener's limits, shared by every service.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpLimits {
    /// Seconds a client has to send a request's headers, the WebSocket handshake included.
    /// An idle keep-alive connection is closed after the same time: the server is waiting for
    /// the next request's headers.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub http_header_timeout_secs: u64,
    /// Open connections in all (keep it below the process's file-descriptor limit).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 19_000)]
    pub max_connections: usize,
    /// Open connections per client address (IPv6: per /64). Not applied when
    /// `TRUST_FORWARDED_FOR` is on: the peer is then the ingress, which limits per client.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    pub max_connections_per_address: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            http_header_timeout_secs: 10,
            max_connections: 19_000,
            max_connections_per_address: 256,
        }
    }
}

impl HttpLimits {
    /// The header timeout.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.http_header_timeout_secs.max(1))
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener holds `MAX_CONNECTIONS`.
    Full,
    /// This client holds `MAX_CONNECTIONS_PER_ADDRESS`.
    PerAddress,
}

impl Refusal {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Full => "max_connections",
            Self::PerAddress => "per_address",
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_client: HashMap<ClientKey, usize>,
}

/// Counts open connections.
pub struct ConnectionCounter {
    max_total: usize,
    max_per_client: Option<usize>,
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it gives its place back.
pub struct ConnectionPermit {
    counter: Arc<ConnectionCounter>,
    client: Option<ClientKey>,
}

impl ConnectionCounter {
    /// A counter; `max_per_client` is `None` behind a trusted ingress.
    pub fn new(max_total: usize, max_per_client: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            max_total: max_total.max(1),
            max_per_client: max_per_client.map(|n| n.max(1)),
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        match self.counts.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Admits a connection from `peer`, or says why not.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let mut counts = self.counts();
        if counts.total >= self.max_total {
            return Err(Refusal::Full);
        }
        let client = match self.max_per_client {
            Some(max) => {
                let client = ClientKey::from(peer);
                let held = counts.by_client.entry(client).or_insert(0);
                if *held >= max {
                    return Err(Refusal::PerAddress);
                }
                *held += 1;
                Some(client)
            }
            None => None,
        };
        counts.total += 1;
        Ok(ConnectionPermit {
            counter: self.clone(),
            client,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts().total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.counter.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(client) = self.client {
            if let Some(held) = counts.by_client.get_mut(&client) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    counts.by_client.remove(&client);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_share_and_gets_it_back_on_close() {
        let counter = ConnectionCounter::new(10, Some(2));
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let a_sibling: IpAddr = "2001:db8::2".parse().unwrap();
        let b: IpAddr = "192.0.2.1".parse().unwrap();
        let first = counter.admit(a).unwrap();
        let _second = counter.admit(a_sibling).unwrap();
        assert_eq!(counter.admit(a).err(), Some(Refusal::PerAddress));
        assert!(counter.admit(b).is_ok());
        drop(first);
        assert!(counter.admit(a).is_ok());
        assert_eq!(counter.open(), 1);
    }

    #[test]
    fn the_total_is_bounded_without_a_per_client_limit() {
        let counter = ConnectionCounter::new(2, None);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let _a = counter.admit(ip).unwrap();
        let _b = counter.admit(ip).unwrap();
        assert_eq!(counter.admit(ip).err(), Some(Refusal::Full));
    }
}
