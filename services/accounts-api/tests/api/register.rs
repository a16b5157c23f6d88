//! `POST /api/user/register/`: sticker activation, every refusal in the guide's wording, and
//! that a refused registration changes nothing.

use accounts_api::Config;
use rstest::rstest;
use serde_json::json;
use shared::{config::Backend, ids::UserId};

use crate::helpers::{
    bare_owner, body_json, registration, spaced, spawn_app, spawn_app_with, status_and_json,
    unique_phone, TestApp, PASSWORD,
};

const ALREADY_REGISTERED: &str = "User already registered. Please login.";

#[rstest]
#[tokio::test]
async fn register_returns_201_and_the_owner_object_for_the_guides_body(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let phone = unique_phone();
    let second_phone = unique_phone();

    // Act
    let response = app
        .register(&json!({
            "user_id": sticker.to_string(),
            "phone_number": phone,
            "password": "secret123",
            "full_name": "Aziz Karimov",
            "phone_number_2": second_phone,
            "car_model": "Chevrolet Cobalt",
            "car_plate_number": "01A123BC",
            "instagram": "aziz.k",
            "telegram": "@azizk",
            "whatsapp": "+998901112233",
            "is_profile_public": true,
        }))
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            201,
            json!({
                "id": sticker.to_string(),
                "phone_number": phone,
                "full_name": "Aziz Karimov",
                "phone_number_2": second_phone,
                "car_model": "Chevrolet Cobalt",
                "car_plate_number": "01A123BC",
                "instagram": "aziz.k",
                "telegram": "@azizk",
                "whatsapp": "+998901112233",
                "is_profile_public": true,
            })
        )
    );
}

#[rstest]
#[tokio::test]
async fn register_fills_unset_fields_with_empty_strings_and_a_public_profile(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let phone = unique_phone();

    // Act
    let response = app.register(&registration(sticker, &phone)).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (201, bare_owner(sticker, &phone))
    );
}

#[rstest]
#[tokio::test]
async fn register_stores_the_phone_number_normalised_and_login_accepts_either_spelling(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let phone = unique_phone();
    let typed = spaced(&phone);
    assert_ne!(typed, phone);

    // Act
    let response = app.register(&registration(sticker, &typed)).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (201, bare_owner(sticker, &phone))
    );
    for spelling in [&phone, &typed] {
        let login = app.login(spelling, PASSWORD).await;
        assert_eq!(login.status().as_u16(), 200, "login as {spelling}");
        assert_eq!(body_json(login).await["user"]["phone_number"], phone);
    }
}

#[rstest]
#[tokio::test]
async fn register_returns_400_with_every_missing_field_at_once(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app.register(&json!({})).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({
                "user_id": ["This field is required."],
                "phone_number": ["This field is required."],
                "password": ["This field is required."],
            })
        )
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_400_with_every_invalid_field_at_once(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;

    // Act
    let response = app
        .register(&json!({
            "user_id": sticker.to_string(),
            "phone_number": "call me",
            "password": "12345",
            "car_plate_number": "X".repeat(21),
            "is_profile_public": "maybe",
            "full_name": ["not", "a", "string"],
        }))
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({
                "phone_number": ["Enter a valid phone number."],
                "password": ["Ensure this field has at least 6 characters."],
                "car_plate_number": ["Ensure this field has no more than 20 characters."],
                "is_profile_public": ["Must be a valid boolean."],
                "full_name": ["Not a valid string."],
            })
        )
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_400_for_nul_characters_which_postgres_cannot_store(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let mut body = registration(sticker, &unique_phone());
    body["full_name"] = json!("Aziz\u{0}");
    body["car_model"] = json!("\u{0}");

    // Act
    let response = app.register(&body).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({
                "full_name": ["Null characters are not allowed."],
                "car_model": ["Null characters are not allowed."],
            })
        )
    );
    assert_still_unregistered(&app, sticker).await;
}

#[rstest]
#[tokio::test]
async fn register_returns_400_when_user_id_is_not_a_uuid(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app
        .register(&json!({
            "user_id": "not-a-uuid",
            "phone_number": unique_phone(),
            "password": PASSWORD,
        }))
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (400, json!({"user_id": ["Must be a valid UUID."]}))
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_400_when_no_sticker_has_the_id(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app
        .register(&registration(UserId::new_random(), &unique_phone()))
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (400, json!({"user_id": ["User not found."]}))
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_the_guides_body_when_the_sticker_is_already_registered(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let first = app.register(&registration(sticker, &unique_phone())).await;
    assert_eq!(first.status().as_u16(), 201);

    // Act
    let second = app.register(&registration(sticker, &unique_phone())).await;

    // Assert
    assert_eq!(
        status_and_json(second).await,
        (400, json!({"user_id": [ALREADY_REGISTERED]}))
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_the_guides_body_when_the_same_registration_is_sent_again(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: the owner submits the form a second time (a double tap, a retry after a
    // timeout); the phone is taken by this very sticker, which is not a second problem.
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let body = registration(sticker, &unique_phone());
    assert_eq!(app.register(&body).await.status().as_u16(), 201);

    // Act
    let again = app.register(&body).await;

    // Assert
    assert_eq!(
        status_and_json(again).await,
        (400, json!({"user_id": [ALREADY_REGISTERED]}))
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_400_when_the_phone_number_belongs_to_another_owner(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let phone = unique_phone();
    let first = app.sticker().await;
    assert_eq!(
        app.register(&registration(first, &phone))
            .await
            .status()
            .as_u16(),
        201
    );
    let second = app.sticker().await;

    // Act: the same number, spelled differently.
    let response = app.register(&registration(second, &spaced(&phone))).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({"phone_number": ["user with this phone number already exists."]})
        )
    );
    assert_still_unregistered(&app, second).await;
}

#[rstest]
#[tokio::test]
async fn a_refused_registration_changes_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let phone = unique_phone();
    let mut bad = registration(sticker, &phone);
    bad["password"] = json!("short");

    // Act
    let refused = app.register(&bad).await;

    // Assert
    assert_eq!(refused.status().as_u16(), 400);
    assert_still_unregistered(&app, sticker).await;
    assert_eq!(app.login(&phone, "short").await.status().as_u16(), 401);
    let retry = app.register(&registration(sticker, &phone)).await;
    assert_eq!(
        status_and_json(retry).await,
        (201, bare_owner(sticker, &phone))
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_400_with_a_json_parse_error_for_malformed_json(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let response = app
        .post_raw("/api/user/register/", "application/json", r#"{"user_id": "#)
        .await;

    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{body}");
    let detail = body["detail"].as_str().expect("a detail");
    assert!(detail.starts_with("JSON parse error - "), "{detail}");
}

#[rstest]
#[tokio::test]
async fn register_returns_400_non_field_errors_when_the_body_is_not_an_object(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let list = app
        .post_raw("/api/user/register/", "application/json", "[1, 2]")
        .await;
    let string = app
        .post_raw("/api/user/register/", "application/json", r#""hello""#)
        .await;

    // Assert
    assert_eq!(
        status_and_json(list).await,
        (
            400,
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        )
    );
    assert_eq!(
        status_and_json(string).await,
        (
            400,
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]})
        )
    );
}

#[rstest]
#[tokio::test]
async fn register_returns_413_for_a_body_over_64_kib(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let mut body = registration(sticker, &unique_phone());
    body["full_name"] = json!("x".repeat(65 * 1024));

    // Act
    let response = app.register(&body).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (413, json!({"detail": "Request body is too large."}))
    );
    assert_still_unregistered(&app, sticker).await;
}

#[rstest]
#[tokio::test]
async fn register_returns_415_for_an_unsupported_content_type(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let body = registration(sticker, &unique_phone()).to_string();

    // Act
    let response = app
        .post_raw("/api/user/register/", "text/plain", body)
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            415,
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        )
    );
    assert_still_unregistered(&app, sticker).await;
}

#[rstest]
#[tokio::test]
async fn register_without_the_trailing_slash_reaches_the_same_handler(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let sticker = app.sticker().await;
    let phone = unique_phone();

    // Act
    let response = app
        .post_json("/api/user/register", &registration(sticker, &phone))
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (201, bare_owner(sticker, &phone))
    );
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_sticker_give_exactly_one_201(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: at production argon2 cost every request is still hashing when the others pass the
    // up-front checks, so the store's own guard is what decides.
    let app = spawn_app_with(backend, production_argon2).await;
    let sticker = app.sticker().await;
    let bodies: Vec<_> = (0..8)
        .map(|_| registration(sticker, &unique_phone()))
        .collect();

    // Act
    let responses = futures::future::join_all(bodies.iter().map(|body| app.register(body))).await;

    // Assert
    let mut created = 0;
    for response in responses {
        match status_and_json(response).await {
            (201, body) => {
                created += 1;
                assert_eq!(body["id"], sticker.to_string());
            }
            (status, body) => assert_eq!(
                (status, body),
                (400, json!({"user_id": [ALREADY_REGISTERED]}))
            ),
        }
    }
    assert_eq!(created, 1);
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_with_one_phone_number_give_exactly_one_201(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: at production argon2 cost every request is still hashing when the others pass the
    // up-front checks, so the store's own guard is what decides.
    let app = spawn_app_with(backend, production_argon2).await;
    let phone = unique_phone();
    let mut bodies = Vec::new();
    for _ in 0..6 {
        bodies.push(registration(app.sticker().await, &phone));
    }

    // Act
    let responses = futures::future::join_all(bodies.iter().map(|body| app.register(body))).await;

    // Assert
    let mut created = 0;
    for response in responses {
        match status_and_json(response).await {
            (201, body) => {
                created += 1;
                assert_eq!(body["phone_number"], phone);
            }
            (status, body) => assert_eq!(
                (status, body),
                (
                    400,
                    json!({"phone_number": ["user with this phone number already exists."]})
                )
            ),
        }
    }
    assert_eq!(created, 1);
}

fn production_argon2(config: &mut Config) {
    let defaults = Config::with(
        config.common.database_url.clone(),
        "unused".to_owned().into(),
    );
    config.argon2_memory_kib = defaults.argon2_memory_kib;
    config.argon2_iterations = defaults.argon2_iterations;
}

/// The sticker can still be registered: not public, and no login works for it.
async fn assert_still_unregistered(app: &TestApp, sticker: UserId) {
    let user = app
        .store
        .find_user(sticker)
        .await
        .expect("store answers")
        .expect("sticker exists");
    assert!(!user.is_registered);
    assert_eq!(user.phone_number, None);
    assert_eq!(
        app.get_public_user(&sticker.to_string())
            .await
            .status()
            .as_u16(),
        404
    );
}
