//! A push endpoint is a URL the server calls, so with `PUSH_ALLOW_PRIVATE_ENDPOINTS=false`
//! (the default) only `https` endpoints on public hosts are accepted, and at send time the
//! notifier connects only to public addresses: a stored endpoint whose host now resolves to
//! loopback (DNS rebinding) is never called.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use serde_json::Value;
use shared::{config::Backend, ids::UserId};
use uuid::Uuid;

use crate::helpers::{eventually, room_created, spawn_app, Subscriber, QUIET};

#[tokio::test]
async fn endpoints_that_are_not_https_on_a_public_host_are_refused() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;
    let bearer = format!("Bearer {}", app.token(UserId::new_random()));
    let refused = [
        (
            "http://push.example.com/x",
            "Push endpoints must use https.",
        ),
        ("https://127.0.0.1/x", "127.0.0.1"),
        ("https://10.1.2.3:8443/x", "10.1.2.3"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
        ),
        ("https://[::1]/x", "::1"),
        ("https://[fe80::1]/x", "fe80::1"),
        ("https://100.64.0.1/x", "100.64.0.1"),
        ("https://localhost/x", "localhost"),
    ];

    // Act
    let mut answers = Vec::new();
    for (endpoint, _) in refused {
        let response = app
            .subscribe(Some(&bearer), &Subscriber::new(endpoint.to_owned()).body())
            .await;
        answers.push((
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        ));
    }
    let public = app
        .subscribe(
            Some(&bearer),
            &Subscriber::new("https://8.8.8.8/push/x".into()).body(),
        )
        .await;

    // Assert
    for ((endpoint, names), (status, body)) in refused.iter().zip(answers) {
        assert_eq!(status, 400, "{endpoint}: {body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{endpoint}: {body}");
        let message = body["endpoint"][0].as_str().unwrap();
        assert!(message.contains(names), "{endpoint}: {message}");
        if *names != "Push endpoints must use https." {
            assert!(message.contains("public host"), "{endpoint}: {message}");
        }
    }
    assert_eq!(public.status(), 201, "a public address is accepted");
    assert_eq!(app.service.store.count_subscriptions().await.unwrap(), 1);
}

#[tokio::test]
async fn a_stored_endpoint_that_leads_to_loopback_at_send_time_is_never_connected_to() {
    // Arrange: a listener that counts connections, and two subscriptions stored as if their
    // hosts had been public when they subscribed (a name now resolving to loopback, and a
    // literal written behind the API).
    let app = spawn_app(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let owner = UserId::new_random();
    for endpoint in [
        format!("https://localhost:{port}/push/rebound"),
        format!("https://127.0.0.1:{port}/push/literal"),
    ] {
        let body = Subscriber::new(endpoint.clone()).body();
        let keys = notifier::domain::SubscriptionKeys {
            p256dh: notifier::domain::P256dh::parse(body["keys"]["p256dh"].as_str().unwrap())
                .unwrap(),
            auth: notifier::domain::AuthSecret::parse(body["keys"]["auth"].as_str().unwrap())
                .unwrap(),
        };
        let subscription = notifier::domain::NewSubscription {
            owner_id: owner,
            endpoint: notifier::domain::PushEndpoint::parse(&endpoint, false).unwrap(),
            keys,
        };
        app.service
            .store
            .upsert_subscription(&subscription, 10)
            .await
            .unwrap();
    }

    // Act
    app.publish(&[room_created(Uuid::new_v4(), owner, "Qo'shni")])
        .await;

    // Assert
    eventually("both deliveries are dropped", || async {
        app.metrics()
            .await
            .contains("notifications_failed_total{reason=\"rejected\"} 2")
            .then_some(())
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing connected to loopback"
    );
    assert!(!app.metrics().await.contains("notifications_sent_total"));
}
