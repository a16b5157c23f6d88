//! `GET /api/stickers/<id>/` (beyond the guide, for the sticker's landing page): whether a
//! sticker is activated, and nothing about its owner.

use rstest::rstest;
use serde_json::json;
use shared::{config::Backend, ids::UserId};

use crate::helpers::{spawn_app, status_and_json, TestOwner};

#[rstest]
#[tokio::test]
async fn get_sticker_tells_whether_the_sticker_is_registered(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let fresh = app.sticker().await;
    let owner = TestOwner::registered_with(&app, json!({"is_profile_public": false})).await;

    // Act
    let unregistered = app.get_sticker(&fresh.to_string()).await;
    let registered = app.get_sticker(&owner.id.to_string()).await;

    // Assert
    assert_eq!(
        status_and_json(unregistered).await,
        (
            200,
            json!({"id": fresh.to_string(), "is_registered": false})
        )
    );
    assert_eq!(
        status_and_json(registered).await,
        (
            200,
            json!({"id": owner.id.to_string(), "is_registered": true})
        )
    );
}

#[rstest]
#[tokio::test]
async fn get_sticker_returns_404_for_unknown_and_malformed_ids(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let unknown = app.get_sticker(&UserId::new_random().to_string()).await;
    let malformed = app.get_sticker("not-a-uuid").await;

    // Assert
    for response in [unknown, malformed] {
        assert_eq!(
            status_and_json(response).await,
            (404, json!({"detail": "Not found."}))
        );
    }
}
