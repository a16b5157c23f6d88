//! A database outage answers 503 with a body (never 500), `/readyz` reports it, and the
//! service recovers by itself when the database is back.

use std::{sync::Arc, time::Duration};

use secrecy::SecretString;
use serde_json::Value;
use shared::{
    events::InProcessBus,
    testing::{TcpProxy, TestDatabase},
};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_database_outage_is_a_503_with_a_body_and_the_service_recovers() {
    // Arrange
    let db = TestDatabase::postgres().await;
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let mut config = accounts_api::Config::with(
        db.url_via(&proxy),
        SecretString::from("outage-key".to_owned()),
    );
    config.common.database_max_connections = 2;
    let app = accounts_api::Application::build_with_bus(config, Arc::new(InProcessBus::new()))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/api/users/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Act
    proxy.cut();
    let during = http.get(format!("{base}/api/users/")).send().await.unwrap();
    let ready_during = http.get(format!("{base}/readyz")).send().await.unwrap();

    // Assert
    assert_eq!(during.status(), 503);
    assert!(during.headers().contains_key("retry-after"));
    let body: Value = during.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Service temporarily unavailable, try again later."
    );
    assert_eq!(ready_during.status(), 503);

    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        if http
            .get(format!("{base}/api/users/"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "the service answers again once the database is back"
    );
    stop.cancel();
}
