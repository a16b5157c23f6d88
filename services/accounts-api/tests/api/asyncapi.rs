//! `/api/asyncapi/` serves the committed AsyncAPI document as YAML, and the account events a
//! real NATS carries fit it.

use serde_json::{json, Value};
use shared::{
    config::Backend,
    events::catalog::AccountEvent,
    testing::asyncapi::{Action, AsyncApi, ASYNCAPI_YAML},
};

use crate::helpers::{next_event, spawn_app, TestOwner};

#[tokio::test]
async fn the_asyncapi_document_is_served_as_yaml() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;

    // Act
    let mut served = Vec::new();
    for path in ["/api/asyncapi/", "/api/asyncapi"] {
        let response = app.get(path).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        served.push((path, status, content_type, response.text().await.unwrap()));
    }

    // Assert
    for (path, status, content_type, body) in served {
        assert_eq!(status, 200, "{path}");
        assert_eq!(content_type.as_deref(), Some("application/yaml"), "{path}");
        let document = AsyncApi::parse(&body).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(document.document()["asyncapi"], "3.0.0", "{path}");
        assert_eq!(body, ASYNCAPI_YAML, "{path} serves the committed document");
    }
}

#[tokio::test]
async fn the_account_events_a_real_nats_carries_fit_the_document() {
    // Arrange
    let api = AsyncApi::committed();
    let app = spawn_app(Backend::Postgres).await;
    let mut events = app.subscribe(AccountEvent::ALL).await;

    // Act
    let owner = TestOwner::registered(&app).await;
    let registered = next_event(&mut events).await;
    let updated = app
        .patch_profile(&owner.access, &json!({"full_name": "Aziz"}))
        .await;
    let changed = next_event(&mut events).await;

    // Assert
    assert_eq!(updated.status().as_u16(), 200);
    let mut messages = Vec::new();
    for envelope in [&registered, &changed] {
        let payload: Value = serde_json::from_slice(&envelope.payload).unwrap();
        let headers = Value::Object(
            envelope
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), json!(value)))
                .collect(),
        );
        assert!(headers.get("Nats-Msg-Id").is_some(), "{headers}");
        messages.push(
            api.check_message(&envelope.subject, Action::Send, Some(&headers), &payload)
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(messages, ["userRegistered", "userUpdated"]);
}
