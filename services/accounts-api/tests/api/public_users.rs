//! `GET /api/users/` and `GET /user/<user_id>/`: public profiles only, the owner object without
//! `is_profile_public`; hidden, unregistered, unknown and malformed ids are the same 404.

use rstest::rstest;
use serde_json::{json, Value};
use shared::{config::Backend, ids::UserId};

use crate::helpers::{spawn_app, status_and_json, TestOwner};

fn public(owner: &TestOwner, full_name: &str, car_model: &str) -> Value {
    json!({
        "id": owner.id.to_string(),
        "phone_number": owner.phone,
        "full_name": full_name,
        "phone_number_2": "",
        "car_model": car_model,
        "car_plate_number": "",
        "instagram": "",
        "telegram": "",
        "whatsapp": "",
    })
}

#[rstest]
#[tokio::test]
async fn get_public_user_returns_the_public_object_without_is_profile_public(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner =
        TestOwner::registered_with(&app, json!({"full_name": "Aziz", "car_model": "Cobalt"})).await;

    // Act
    let response = app.get_public_user(&owner.id.to_string()).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (200, public(&owner, "Aziz", "Cobalt"))
    );
}

#[rstest]
#[tokio::test]
async fn get_public_user_without_the_trailing_slash_reaches_the_same_handler(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app.get(&format!("/user/{}", owner.id)).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (200, public(&owner, "", ""))
    );
}

#[rstest]
#[tokio::test]
async fn get_public_user_returns_404_for_hidden_unregistered_unknown_and_malformed_ids(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let hidden = TestOwner::registered_with(&app, json!({"is_profile_public": false})).await;
    let unregistered = app.sticker().await;

    // Act
    let mut responses = Vec::new();
    for id in [
        hidden.id.to_string(),
        unregistered.to_string(),
        UserId::new_random().to_string(),
        "not-a-uuid".to_owned(),
    ] {
        responses.push((id.clone(), app.get_public_user(&id).await));
    }

    // Assert
    for (id, response) in responses {
        assert_eq!(
            status_and_json(response).await,
            (404, json!({"detail": "Not found."})),
            "{id}"
        );
    }
}

#[rstest]
#[tokio::test]
async fn hiding_a_profile_takes_it_off_the_public_endpoints_and_showing_it_brings_it_back(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let hide = app
        .patch_profile(&owner.access, &json!({"is_profile_public": false}))
        .await;
    let while_hidden = app.get_public_user(&owner.id.to_string()).await;
    let list_while_hidden = app.list_users().await;
    let show = app
        .put_profile(&owner.access, &json!({"is_profile_public": true}))
        .await;
    let while_shown = app.get_public_user(&owner.id.to_string()).await;

    // Assert
    assert_eq!(hide.status().as_u16(), 200);
    assert_eq!(while_hidden.status().as_u16(), 404);
    assert_eq!(status_and_json(list_while_hidden).await, (200, json!([])));
    assert_eq!(show.status().as_u16(), 200);
    assert_eq!(
        status_and_json(while_shown).await,
        (200, public(&owner, "", ""))
    );
}

#[rstest]
#[tokio::test]
async fn list_users_returns_public_registered_owners_in_registration_order(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let first = TestOwner::registered_with(&app, json!({"full_name": "First"})).await;
    TestOwner::registered_with(&app, json!({"is_profile_public": false})).await;
    app.sticker().await;
    let second =
        TestOwner::registered_with(&app, json!({"full_name": "Second", "car_model": "Damas"}))
            .await;

    // Act
    let response = app.list_users().await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            200,
            json!([
                public(&first, "First", ""),
                public(&second, "Second", "Damas")
            ])
        )
    );
}

#[rstest]
#[tokio::test]
async fn list_users_returns_an_empty_list_when_nobody_is_registered(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    app.sticker().await;

    // Act
    let with_slash = app.list_users().await;
    let without_slash = app.get("/api/users").await;

    // Assert
    assert_eq!(status_and_json(with_slash).await, (200, json!([])));
    assert_eq!(status_and_json(without_slash).await, (200, json!([])));
}
