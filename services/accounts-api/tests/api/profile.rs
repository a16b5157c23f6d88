//! `GET`/`PUT`/`PATCH /api/profile/`: the owner's own profile, SimpleJWT's 401 bodies for every
//! way a token can fail, and that a refused change changes nothing.

use rstest::rstest;
use serde_json::{json, Value};
use shared::{auth::TokenType, config::Backend, ids::UserId};

use crate::helpers::{
    bare_owner, body_json, spaced, spawn_app, status_and_json, unique_phone, TestApp, TestOwner,
};

fn token_not_valid(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{
            "token_class": "AccessToken",
            "token_type": "access",
            "message": message,
        }],
    })
}

async fn profile_of(app: &TestApp, owner: &TestOwner) -> Value {
    let response = app.get_profile(&owner.access).await;
    assert_eq!(response.status().as_u16(), 200);
    body_json(response).await
}

#[rstest]
#[tokio::test]
async fn get_profile_returns_the_owner_object(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered_with(
        &app,
        json!({"full_name": "Dilnoza", "car_model": "Nexia 3", "is_profile_public": false}),
    )
    .await;

    // Act
    let response = app.get_profile(&owner.access).await;

    // Assert
    let mut expected = bare_owner(owner.id, &owner.phone);
    expected["full_name"] = json!("Dilnoza");
    expected["car_model"] = json!("Nexia 3");
    expected["is_profile_public"] = json!(false);
    assert_eq!(status_and_json(response).await, (200, expected));
}

#[rstest]
#[tokio::test]
async fn profile_returns_401_with_www_authenticate_when_no_credentials_are_sent(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    TestOwner::registered(&app).await;

    // Act: no header, and a header of another scheme (which SimpleJWT ignores).
    let responses = [
        app.get("/api/profile/").await,
        app.request(reqwest::Method::GET, "/api/profile/")
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .expect("sent"),
        app.request(reqwest::Method::PATCH, "/api/profile/")
            .json(&json!({"full_name": "X"}))
            .send()
            .await
            .expect("sent"),
        app.request(reqwest::Method::PUT, "/api/profile/")
            .json(&json!({"full_name": "X"}))
            .send()
            .await
            .expect("sent"),
    ];

    // Assert
    for response in responses {
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(
            status_and_json(response).await,
            (
                401,
                json!({"detail": "Authentication credentials were not provided."})
            )
        );
    }
}

#[rstest]
#[tokio::test]
async fn profile_returns_401_token_is_invalid_for_a_garbage_or_foreign_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let foreign = shared::auth::KeyRing::new(&"another-secret".to_owned().into(), &[])
        .signer()
        .sign(owner.id, TokenType::Access, 3600)
        .expect("signed");

    // Act
    let garbage = app.get_profile("garbage").await;
    let forged = app.get_profile(&foreign).await;

    // Assert
    for response in [garbage, forged] {
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(
            status_and_json(response).await,
            (401, token_not_valid("Token is invalid"))
        );
    }
}

#[rstest]
#[tokio::test]
async fn profile_returns_401_token_is_expired_for_an_expired_access_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let expired = app.mint(owner.id, TokenType::Access, 0);

    // Act
    let response = app.get_profile(&expired).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (401, token_not_valid("Token is expired"))
    );
}

#[rstest]
#[tokio::test]
async fn profile_refuses_a_refresh_token_as_the_wrong_type(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app.get_profile(&owner.refresh).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (401, token_not_valid("Token has wrong type"))
    );
}

#[rstest]
#[tokio::test]
async fn profile_returns_401_for_a_malformed_authorization_header(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app
        .request(reqwest::Method::GET, "/api/profile/")
        .header("authorization", format!("Bearer {} extra", owner.access))
        .send()
        .await
        .expect("sent");

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            401,
            json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            })
        )
    );
}

#[rstest]
#[tokio::test]
async fn profile_returns_401_user_not_found_for_a_token_of_no_registered_owner(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let unregistered = app.mint(app.sticker().await, TokenType::Access, 60);
    let unknown = app.mint(UserId::new_random(), TokenType::Access, 60);

    // Act
    let responses = [
        app.get_profile(&unregistered).await,
        app.get_profile(&unknown).await,
    ];

    // Assert
    for response in responses {
        assert_eq!(
            status_and_json(response).await,
            (
                401,
                json!({"detail": "User not found", "code": "user_not_found"})
            )
        );
    }
}

#[rstest]
#[tokio::test]
async fn put_profile_changes_only_the_fields_sent(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner =
        TestOwner::registered_with(&app, json!({"full_name": "Aziz", "telegram": "@aziz"})).await;

    // Act
    let response = app
        .put_profile(&owner.access, &json!({"car_model": "Malibu"}))
        .await;

    // Assert
    let mut expected = bare_owner(owner.id, &owner.phone);
    expected["full_name"] = json!("Aziz");
    expected["telegram"] = json!("@aziz");
    expected["car_model"] = json!("Malibu");
    assert_eq!(status_and_json(response).await, (200, expected.clone()));
    assert_eq!(profile_of(&app, &owner).await, expected);
}

#[rstest]
#[tokio::test]
async fn patch_profile_changes_every_field_sent_and_clears_blank_ones(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered_with(
        &app,
        json!({"full_name": "Aziz", "instagram": "aziz.k", "whatsapp": "+998901112233"}),
    )
    .await;
    let second_phone = unique_phone();

    // Act
    let response = app
        .patch_profile(
            &owner.access,
            &json!({
                "full_name": "  Aziz Karimov  ",
                "phone_number_2": spaced(&second_phone),
                "car_model": "Tracker",
                "car_plate_number": "01B777AA",
                "instagram": "",
                "telegram": "@azizk",
                "whatsapp": null,
                "is_profile_public": false,
                "unknown_field": "ignored",
            }),
        )
        .await;

    // Assert
    let expected = json!({
        "id": owner.id.to_string(),
        "phone_number": owner.phone,
        "full_name": "Aziz Karimov",
        "phone_number_2": second_phone,
        "car_model": "Tracker",
        "car_plate_number": "01B777AA",
        "instagram": "",
        "telegram": "@azizk",
        "whatsapp": "",
        "is_profile_public": false,
    });
    assert_eq!(status_and_json(response).await, (200, expected.clone()));
    assert_eq!(profile_of(&app, &owner).await, expected);
}

#[rstest]
#[tokio::test]
async fn patch_profile_with_one_invalid_field_changes_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered_with(&app, json!({"full_name": "Aziz"})).await;
    let before = profile_of(&app, &owner).await;

    // Act
    let response = app
        .patch_profile(
            &owner.access,
            &json!({"full_name": "Someone Else", "is_profile_public": "maybe"}),
        )
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({"is_profile_public": ["Must be a valid boolean."]})
        )
    );
    assert_eq!(profile_of(&app, &owner).await, before);
}

#[rstest]
#[tokio::test]
async fn patch_profile_reports_every_invalid_field_at_once(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let before = profile_of(&app, &owner).await;

    // Act
    let response = app
        .patch_profile(
            &owner.access,
            &json!({
                "phone_number": "",
                "phone_number_2": "12",
                "car_model": "M".repeat(101),
                "telegram": {"handle": "x"},
            }),
        )
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({
                "phone_number": ["This field may not be blank."],
                "phone_number_2": ["Enter a valid phone number."],
                "car_model": ["Ensure this field has no more than 100 characters."],
                "telegram": ["Not a valid string."],
            })
        )
    );
    assert_eq!(profile_of(&app, &owner).await, before);
}

#[rstest]
#[tokio::test]
async fn patch_profile_returns_400_and_changes_nothing_for_another_owners_phone(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let other = TestOwner::registered(&app).await;
    let before = profile_of(&app, &owner).await;

    // Act
    let response = app
        .patch_profile(
            &owner.access,
            &json!({"phone_number": spaced(&other.phone), "full_name": "Changed"}),
        )
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            400,
            json!({"phone_number": ["user with this phone number already exists."]})
        )
    );
    assert_eq!(profile_of(&app, &owner).await, before);
}

#[rstest]
#[tokio::test]
async fn patch_profile_changes_the_login_phone_number(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let new_phone = unique_phone();

    // Act
    let response = app
        .patch_profile(&owner.access, &json!({"phone_number": spaced(&new_phone)}))
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (200, bare_owner(owner.id, &new_phone))
    );
    assert_eq!(
        app.login(&new_phone, &owner.password)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        app.login(&owner.phone, &owner.password)
            .await
            .status()
            .as_u16(),
        401
    );
}

#[rstest]
#[tokio::test]
async fn patch_profile_returns_400_for_malformed_json_and_changes_nothing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let before = profile_of(&app, &owner).await;

    // Act
    let response = app
        .request(reqwest::Method::PATCH, "/api/profile/")
        .bearer_auth(&owner.access)
        .header("content-type", "application/json")
        .body(r#"{"full_name": "#)
        .send()
        .await
        .expect("sent");

    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert!(body["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("JSON parse error - ")));
    assert_eq!(profile_of(&app, &owner).await, before);
}

#[rstest]
#[tokio::test]
async fn profile_without_the_trailing_slash_reaches_the_same_handler(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let get = app
        .request(reqwest::Method::GET, "/api/profile")
        .bearer_auth(&owner.access)
        .send()
        .await
        .expect("sent");
    let patch = app
        .request(reqwest::Method::PATCH, "/api/profile")
        .bearer_auth(&owner.access)
        .json(&json!({"full_name": "No Slash"}))
        .send()
        .await
        .expect("sent");

    // Assert
    assert_eq!(
        status_and_json(get).await,
        (200, bare_owner(owner.id, &owner.phone))
    );
    let (status, body) = status_and_json(patch).await;
    assert_eq!(status, 200);
    assert_eq!(body["full_name"], "No Slash");
}
