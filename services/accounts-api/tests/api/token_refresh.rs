//! `POST /api/token/refresh/` as SimpleJWT does it: `{"access"}` with the old refresh token
//! still valid, or with rotation a new `"refresh"` and reuse refused; every bad token a 401.

use rstest::rstest;
use serde_json::json;
use shared::{auth::TokenType, config::Backend};

use crate::helpers::{spawn_app, spawn_app_with, status_and_json, TestApp, TestOwner};

/// Refreshes with `token` under rotation and returns the new refresh token.
async fn rotate(app: &TestApp, token: &str) -> String {
    let (status, body) = status_and_json(app.refresh(token).await).await;
    assert_eq!(status, 200, "{body}");
    body["refresh"].as_str().expect("refresh token").to_owned()
}

#[rstest]
#[tokio::test]
async fn refresh_returns_only_a_new_access_token_when_rotation_is_off(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = false).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let first = app.refresh(&owner.refresh).await;
    let second = app.refresh(&owner.refresh).await;

    // Assert
    for response in [first, second] {
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200);
        let keys: Vec<_> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["access"]);
        let access = body["access"].as_str().expect("access token");
        assert_eq!(app.keys.verifier().verify_access(access), Ok(owner.id));
        assert_eq!(app.get_profile(access).await.status().as_u16(), 200);
    }
}

#[rstest]
#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_refuses_reuse_when_rotation_is_on(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = true).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let rotated = app.refresh(&owner.refresh).await;
    let (status, body) = status_and_json(rotated).await;
    let new_refresh = body["refresh"].as_str().expect("refresh token").to_owned();
    let next = app.refresh(&new_refresh).await;
    let reused = app.refresh(&owner.refresh).await;

    // Assert
    assert_eq!(status, 200);
    let mut keys: Vec<_> = body.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["access", "refresh"]);
    assert_ne!(new_refresh, owner.refresh);
    let access = body["access"].as_str().expect("access token");
    assert_eq!(app.get_profile(access).await.status().as_u16(), 200);
    assert_eq!(next.status().as_u16(), 200, "the new refresh token works");
    assert_eq!(
        status_and_json(reused).await,
        (
            401,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        )
    );
}

#[rstest]
#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_every_token_rotated_from_the_same_login(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a thief refreshes with the owner's token first and keeps rotating.
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = true).await;
    let owner = TestOwner::registered(&app).await;
    let (_, other_login) = app.login_again(&owner).await;
    let thiefs_first = rotate(&app, &owner.refresh).await;
    let thiefs_second = rotate(&app, &thiefs_first).await;

    // Act: the owner presents the token the thief already used.
    let owners = app.refresh(&owner.refresh).await;
    let thiefs_latest = app.refresh(&thiefs_second).await;
    let thiefs_older = app.refresh(&thiefs_first).await;
    let other = app.refresh(&other_login).await;

    // Assert
    let blacklisted = json!({"detail": "Token is blacklisted", "code": "token_not_valid"});
    assert_eq!(status_and_json(owners).await, (401, blacklisted.clone()));
    assert_eq!(
        status_and_json(thiefs_latest).await,
        (401, blacklisted.clone()),
        "the newest token of the chain is revoked"
    );
    assert_eq!(status_and_json(thiefs_older).await, (401, blacklisted));
    assert_eq!(
        other.status().as_u16(),
        200,
        "another login of the same owner is its own chain"
    );
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_succeed_once_when_rotation_is_on(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.rotate_refresh_tokens = true).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let responses = futures::future::join_all((0..6).map(|_| app.refresh(&owner.refresh))).await;

    // Assert
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
}

#[rstest]
#[tokio::test]
async fn refresh_returns_401_token_is_invalid_for_a_garbage_or_foreign_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let foreign = shared::auth::KeyRing::new(&"another-secret".to_owned().into(), &[])
        .signer()
        .sign(owner.id, TokenType::Refresh, 3600)
        .expect("signed");

    // Act
    let garbage = app.refresh("not.a.token").await;
    let forged = app.refresh(&foreign).await;

    // Assert
    for response in [garbage, forged] {
        assert_eq!(
            status_and_json(response).await,
            (
                401,
                json!({"detail": "Token is invalid", "code": "token_not_valid"})
            )
        );
    }
}

#[rstest]
#[tokio::test]
async fn refresh_returns_401_token_is_expired_for_an_expired_refresh_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let expired = app.mint(owner.id, TokenType::Refresh, 0);

    // Act
    let response = app.refresh(&expired).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            401,
            json!({"detail": "Token is expired", "code": "token_not_valid"})
        )
    );
}

#[rstest]
#[tokio::test]
async fn refresh_refuses_an_access_token(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app.refresh(&owner.access).await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (
            401,
            json!({"detail": "Token has wrong type", "code": "token_not_valid"})
        )
    );
}

#[rstest]
#[tokio::test]
async fn refresh_returns_400_when_the_token_is_missing(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let missing = app.post_json("/api/token/refresh/", &json!({})).await;
    let not_an_object = app
        .post_raw("/api/token/refresh/", "application/json", "[]")
        .await;

    // Assert
    assert_eq!(
        status_and_json(missing).await,
        (400, json!({"refresh": ["This field is required."]}))
    );
    assert_eq!(
        status_and_json(not_an_object).await,
        (
            400,
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        )
    );
}

#[rstest]
#[tokio::test]
async fn refresh_without_the_trailing_slash_reaches_the_same_handler(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app
        .post_json("/api/token/refresh", &json!({"refresh": owner.refresh}))
        .await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
}
