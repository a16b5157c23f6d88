//! A push service on a local port (what FCM or Mozilla's autopush are to a browser): it
//! records every request sent to `/push/<name>` and answers 201, or what a test told it to
//! answer next for that name.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use tokio::net::TcpListener;

use super::{eventually, QUIET};

/// One request the push service received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, as sent (encrypted).
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// One header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An answer to give.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// This status.
    Status(u16),
    /// This status with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
}

#[derive(Default)]
struct Log {
    received: HashMap<String, Vec<Received>>,
    replies: HashMap<String, VecDeque<Reply>>,
}

/// The running push service.
pub struct PushService {
    base: String,
    log: Arc<Mutex<Log>>,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

async fn push(
    State(log): State<Arc<Mutex<Log>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut log = log.lock().expect("log lock");
    log.received
        .entry(name.clone())
        .or_default()
        .push(Received {
            headers,
            body,
            at: Instant::now(),
        });
    match log.replies.get_mut(&name).and_then(VecDeque::pop_front) {
        Some(Reply::Status(status)) => StatusCode::from_u16(status)
            .expect("a status")
            .into_response(),
        Some(Reply::RetryAfter(status, secs)) => (
            StatusCode::from_u16(status).expect("a status"),
            [("Retry-After", secs.to_string())],
        )
            .into_response(),
        None => StatusCode::CREATED.into_response(),
    }
}

impl PushService {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let log = Arc::new(Mutex::new(Log::default()));
        let router = Router::new()
            .route("/push/{name}", post(push))
            .with_state(log.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { base, log, handle }
    }

    /// `http://127.0.0.1:<port>`: the audience of its VAPID tokens.
    pub fn origin(&self) -> &str {
        &self.base
    }

    /// The endpoint of subscription `name`.
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.base)
    }

    /// Answers the next requests for `name` with `replies`, in order.
    pub fn reply_next(&self, name: &str, replies: &[Reply]) {
        self.log
            .lock()
            .expect("log lock")
            .replies
            .entry(name.to_owned())
            .or_default()
            .extend(replies.iter().copied());
    }

    /// What `name` has received so far.
    pub fn received(&self, name: &str) -> Vec<Received> {
        self.log
            .lock()
            .expect("log lock")
            .received
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `name` has received `count` requests, then a quiet moment, and returns
    /// them all (a test then sees a request too many).
    pub async fn wait_for(&self, name: &str, count: usize) -> Vec<Received> {
        eventually(&format!("{name} has {count} push requests"), || async {
            (self.received(name).len() >= count).then_some(())
        })
        .await;
        tokio::time::sleep(QUIET).await;
        self.received(name)
    }

    /// Like [`Self::wait_for`], waiting up to `within` (what JetStream redelivers after its
    /// 30 s `ack_wait` takes longer than the usual patience); returns what arrived, even
    /// when it is fewer.
    pub async fn wait_up_to(&self, name: &str, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        while self.received(name).len() < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(QUIET).await;
        self.received(name)
    }
}
