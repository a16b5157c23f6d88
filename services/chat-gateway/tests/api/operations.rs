//! What operators and probes use: `/healthz`, `/readyz` (database and NATS reachable),
//! `/metrics`, and JSON answers for paths that do not exist.

use std::sync::Arc;

use rstest::rstest;
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::{
    config::Backend,
    testing::{unique_prefix, NatsServer, TestDatabase},
};

use crate::helpers::{eventually, spawn_app, spawn_replica, Placement};

#[rstest]
#[tokio::test]
async fn healthz_returns_200(#[values(Backend::Postgres, Backend::Sqlite)] backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app.get("/healthz").await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[rstest]
#[tokio::test]
async fn readyz_returns_200_when_the_database_and_the_bus_are_reachable(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app.get("/readyz").await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

#[tokio::test]
async fn readyz_stays_200_while_nats_is_down_and_the_loss_shows_in_the_metrics() {
    // Arrange
    let mut nats = NatsServer::start().await;
    let app = spawn_replica(
        Placement {
            db: Arc::new(TestDatabase::create(Backend::Postgres).await),
            nats: Some((nats.url().to_owned(), unique_prefix())),
            secret: SecretString::from("readiness".to_owned()),
            replica_id: None,
        },
        |_| {},
    )
    .await;
    let gauge = |metrics: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with("nats_connected "))
            .map(str::to_owned)
    };

    // Act
    nats.kill();
    eventually("the metrics notice", || async {
        let metrics = app.get("/metrics").await.text().await.ok()?;
        (gauge(&metrics)? == "nats_connected 0").then_some(())
    })
    .await;
    let ready_while_down = app.get("/readyz").await;
    nats.restart().await;

    // Assert: the replica still serves, and says so.
    assert_eq!(ready_while_down.status(), 200);
    eventually("the metrics see NATS again", || async {
        let metrics = app.get("/metrics").await.text().await.ok()?;
        (gauge(&metrics)? == "nats_connected 1").then_some(())
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn metrics_are_served_as_prometheus_text(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app.get("/metrics").await;

    // Assert
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

#[rstest]
#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let unknown = app.get("/api/chat/nowhere/").await;
    let wrong_method = app
        .request(reqwest::Method::DELETE, "/api/chat/start/")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"detail": "Not found."})
    );
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap(),
        json!({"detail": "Method \"DELETE\" not allowed."})
    );
}
