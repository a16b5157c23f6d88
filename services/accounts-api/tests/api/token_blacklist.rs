//! `POST /api/token/blacklist/` (logout) as SimpleJWT's `TokenBlacklistView` does it: `200 {}`,
//! after which the refresh token is refused with `Token is blacklisted`; every bad token a 401
//! with SimpleJWT's detail, a missing field a 400.

use rstest::rstest;
use serde_json::json;
use shared::{auth::TokenType, config::Backend};

use crate::helpers::{spawn_app, spawn_app_with, status_and_json, TestOwner};

fn blacklisted() -> serde_json::Value {
    json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
}

#[rstest]
#[tokio::test]
async fn blacklisting_a_refresh_token_answers_an_empty_object_and_refresh_then_refuses_it(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[values(false, true)] rotate: bool,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = rotate).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let logout = app.blacklist(&owner.refresh).await;
    let refresh = app.refresh(&owner.refresh).await;

    // Assert
    assert_eq!(status_and_json(logout).await, (200, json!({})));
    assert_eq!(status_and_json(refresh).await, (401, blacklisted()));
}

#[rstest]
#[tokio::test]
async fn blacklisting_a_token_twice_returns_401_token_is_blacklisted(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    assert_eq!(app.blacklist(&owner.refresh).await.status().as_u16(), 200);

    // Act
    let again = app.blacklist(&owner.refresh).await;

    // Assert
    assert_eq!(status_and_json(again).await, (401, blacklisted()));
}

#[rstest]
#[tokio::test]
async fn logging_out_one_login_leaves_the_owners_other_logins_working(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
    #[values(false, true)] rotate: bool,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = rotate).await;
    let owner = TestOwner::registered(&app).await;
    let (_, other_refresh) = app.login_again(&owner).await;

    // Act
    let logout = app.blacklist(&owner.refresh).await;
    let other = app.refresh(&other_refresh).await;

    // Assert
    assert_eq!(logout.status().as_u16(), 200);
    assert_eq!(other.status().as_u16(), 200);
}

#[rstest]
#[tokio::test]
async fn logging_out_with_a_rotated_token_refuses_its_successor_too(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a client that logs out with the token it held before its last refresh.
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = true).await;
    let owner = TestOwner::registered(&app).await;
    let rotated = status_and_json(app.refresh(&owner.refresh).await).await.1;
    let successor = rotated["refresh"].as_str().expect("a new refresh token");

    // Act
    let logout = app.blacklist(&owner.refresh).await;
    let refresh = app.refresh(successor).await;

    // Assert
    assert_eq!(status_and_json(logout).await, (401, blacklisted()));
    assert_eq!(status_and_json(refresh).await, (401, blacklisted()));
}

#[rstest]
#[tokio::test]
async fn blacklist_returns_401_with_simplejwts_detail_for_a_bad_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let forged = shared::auth::KeyRing::new(&"another-secret".to_owned().into(), &[])
        .signer()
        .sign(owner.id, TokenType::Refresh, 3600)
        .expect("signed");
    let expired = app.mint(owner.id, TokenType::Refresh, 0);
    let cases = [
        ("not.a.token", "Token is invalid"),
        (forged.as_str(), "Token is invalid"),
        (expired.as_str(), "Token is expired"),
        (owner.access.as_str(), "Token has wrong type"),
    ];

    for (token, detail) in cases {
        // Act
        let response = app.blacklist(token).await;

        // Assert
        assert_eq!(
            status_and_json(response).await,
            (401, json!({"detail": detail, "code": "token_not_valid"})),
            "{detail}"
        );
    }
    assert_eq!(app.refresh(&owner.refresh).await.status().as_u16(), 200);
}

#[rstest]
#[tokio::test]
async fn blacklist_returns_400_when_the_token_is_missing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let missing = app.post_json("/api/token/blacklist/", &json!({})).await;
    let null = app
        .post_json("/api/token/blacklist/", &json!({"refresh": null}))
        .await;

    // Assert
    assert_eq!(
        status_and_json(missing).await,
        (400, json!({"refresh": ["This field is required."]}))
    );
    assert_eq!(
        status_and_json(null).await,
        (400, json!({"refresh": ["This field may not be null."]}))
    );
}
