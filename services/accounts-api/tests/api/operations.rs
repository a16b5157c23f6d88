//! `/healthz` and `/readyz` for the orchestrator, and the routing failures every client may
//! meet: JSON 404 for unknown paths, JSON 405 for a wrong method.

use rstest::rstest;
use serde_json::json;
use shared::config::Backend;

use crate::helpers::{spawn_app, status_and_json};

#[rstest]
#[tokio::test]
async fn healthz_and_readyz_return_200_when_the_database_answers(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let health = app.get("/healthz").await;
    let ready = app.get("/readyz").await;

    // Assert
    assert_eq!(
        status_and_json(health).await,
        (200, json!({"status": "ok"}))
    );
    assert_eq!(
        status_and_json(ready).await,
        (200, json!({"status": "ready"}))
    );
}

#[rstest]
#[tokio::test]
async fn an_unknown_path_returns_a_json_404(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let responses = [
        app.get("/api/nope/").await,
        app.get("/no/such/page").await,
        app.post_raw("/api/user/register/extra/", "application/json", "{}")
            .await,
    ];

    // Assert
    for response in responses {
        assert_eq!(
            status_and_json(response).await,
            (404, json!({"detail": "Not found."}))
        );
    }
}

#[rstest]
#[tokio::test]
async fn a_wrong_method_returns_a_json_405_with_the_allowed_methods(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let get_login = app.get("/api/login/").await;
    let delete_profile = app
        .request(reqwest::Method::DELETE, "/api/profile/")
        .send()
        .await
        .expect("sent");
    let post_users = app.post_raw("/api/users", "application/json", "{}").await;

    // Assert
    for (response, method, allowed) in [
        (get_login, "GET", "POST"),
        (delete_profile, "DELETE", "GET,PATCH,PUT"),
        (post_users, "POST", "GET"),
    ] {
        let mut allow: Vec<String> = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        allow.sort();
        assert_eq!(allow.join(","), allowed, "Allow for {method}");
        assert_eq!(
            status_and_json(response).await,
            (
                405,
                json!({"detail": format!("Method \"{method}\" not allowed.")})
            )
        );
    }
}
