//! The listener's bounds, seen from raw TCP clients: headers that never finish, idle
//! keep-alive connections, and one address opening more connections than its share.

use std::time::Duration;

use shared::config::Backend;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{spawn_app_with, TestApp};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("TCP connects")
}

/// Whether the server has closed `stream` (EOF or reset) within `within`; anything it sends
/// first (an error response) is read and skipped.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.common.http.http_header_timeout_secs = 1
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /api/users/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("written");
        slow.push(stream);
    }

    // Act
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut closed = 0;
    for stream in &mut slow {
        closed += usize::from(closed_within(stream, Duration::from_secs(1)).await);
    }

    // Assert
    assert_eq!(closed, 50);
    let fresh = app.get("/healthz").await;
    assert_eq!(fresh.status(), 200, "the server still serves");
}

#[tokio::test]
async fn a_websocket_handshake_is_held_to_the_same_header_timeout() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.common.http.http_header_timeout_secs = 1
    })
    .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /ws/chat/00000000-0000-0000-0000-000000000000/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        .await
        .expect("written");

    // Act
    let closed = closed_within(&mut stream, Duration::from_secs(3)).await;

    // Assert
    assert!(closed);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.common.http.http_header_timeout_secs = 1
    })
    .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("written");
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.expect("a response");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));

    // Act
    let closed = closed_within(&mut stream, Duration::from_secs(3)).await;

    // Assert
    assert!(closed);
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.common.http.max_connections_per_address = 10;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(connect(&app).await);
    }

    // Act
    let mut refused = 0;
    for stream in &mut held {
        refused += usize::from(closed_within(stream, Duration::from_millis(300)).await);
    }
    let other_address = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client")
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("answered");

    // Assert
    assert_eq!(refused, 20);
    assert_eq!(other_address.status(), 200);
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "places are given back"
    );
}
