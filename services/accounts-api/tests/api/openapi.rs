//! `/api/schema/`, `/api/docs/` (Swagger UI) and `/api/redoc/` (Redoc) are served, from
//! vendored assets only, and the accounts part of the document names every guide endpoint.

use serde_json::Value;
use shared::config::Backend;

use crate::helpers::{body_json, spawn_app};

// These touch no storage: one backend is enough.

#[tokio::test]
async fn the_openapi_schema_is_served_as_json() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;

    // Act
    let response = app.get("/api/schema/").await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    let schema = body_json(response).await;
    assert!(
        schema["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{schema}"
    );
    assert!(schema["paths"].is_object(), "{schema}");
}

#[tokio::test]
async fn the_accounts_document_describes_every_guide_endpoint() {
    // Arrange
    let expected = [
        ("/api/user/register/", "post"),
        ("/api/login/", "post"),
        ("/api/token/refresh/", "post"),
        ("/api/profile/", "get"),
        ("/api/profile/", "put"),
        ("/api/profile/", "patch"),
        ("/api/users/", "get"),
        ("/user/{user_id}/", "get"),
    ];

    // Act
    let document: Value =
        serde_json::to_value(accounts_api::openapi()).expect("the document serialises");

    // Assert
    for (path, method) in expected {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is missing"
        );
    }
    assert!(document["components"]["securitySchemes"]["jwt"].is_object());
}

#[tokio::test]
async fn the_served_schema_has_every_accounts_operation() {
    // Arrange: the committed merged document must not drift from accounts-api's routes.
    let app = spawn_app(Backend::Sqlite).await;
    let accounts: Value =
        serde_json::to_value(accounts_api::openapi()).expect("the document serialises");

    // Act
    let served = body_json(app.get("/api/schema/").await).await;

    // Assert
    let paths = accounts["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            assert!(
                served["paths"][path][method].is_object(),
                "{method} {path} is missing from docs/openapi.json; regenerate it with \
                 `cargo run -p standalone -- print-openapi > docs/openapi.json`"
            );
        }
    }
}

#[tokio::test]
async fn swagger_ui_and_redoc_are_served_without_a_cdn() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;

    // Act
    let mut pages = Vec::new();
    for path in ["/api/docs/", "/api/redoc/", "/api/docs", "/api/redoc"] {
        let response = app.get(path).await;
        pages.push((
            path,
            response.status().as_u16(),
            response.text().await.expect("body"),
        ));
    }

    // Assert
    for (path, status, html) in pages {
        assert_eq!(status, 200, "{path}");
        assert!(html.to_lowercase().contains("<html"), "{path}: {html}");
        for cdn in ["cdn", "unpkg", "jsdelivr"] {
            assert!(!html.contains(cdn), "{path} loads from {cdn}");
        }
    }
}

#[tokio::test]
async fn the_docs_assets_are_served_locally() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;

    // Act
    let redoc = app.get("/api/redoc/redoc.standalone.js").await;
    let swagger_config = app.get("/api/docs/openapi.json").await;
    let swagger_bundle = app.get("/api/docs/swagger-ui-bundle.js").await;

    // Assert
    assert_eq!(redoc.status().as_u16(), 200);
    assert!(redoc
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/javascript")));
    assert_eq!(swagger_bundle.status().as_u16(), 200);
    assert_eq!(swagger_config.status().as_u16(), 200);
    assert!(body_json(swagger_config).await["openapi"].is_string());
}
