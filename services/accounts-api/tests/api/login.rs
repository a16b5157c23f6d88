//! `POST /api/login/`: tokens + user on success, one indistinguishable 401 on failure, and the
//! per-phone throttle (and its `RATE_LIMITS=off` switch).

use rstest::rstest;
use serde_json::json;
use shared::{
    auth::TokenType,
    config::{Backend, RateLimits},
};

use crate::helpers::{
    bare_owner, body_json, spaced, spawn_app, spawn_app_with, status_and_json, unique_phone,
    TestOwner,
};

const INVALID_CREDENTIALS: &str = "Invalid phone number or password.";

#[rstest]
#[tokio::test]
async fn login_returns_tokens_and_the_owner_object(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app.login(&owner.phone, &owner.password).await;

    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    let mut keys: Vec<_> = body.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["tokens", "user"]);
    let mut token_keys: Vec<_> = body["tokens"].as_object().expect("tokens").keys().collect();
    token_keys.sort();
    assert_eq!(token_keys, ["access", "refresh"]);
    assert_eq!(body["user"], bare_owner(owner.id, &owner.phone));
    let verifier = app.keys.verifier();
    let access = body["tokens"]["access"].as_str().expect("access");
    let refresh = body["tokens"]["refresh"].as_str().expect("refresh");
    assert_eq!(verifier.verify_access(access), Ok(owner.id));
    let refresh_claims = verifier
        .verify(refresh, TokenType::Refresh)
        .expect("a refresh token");
    assert_eq!(refresh_claims.user_id, owner.id.to_string());
    assert_eq!(
        refresh_claims.exp - refresh_claims.iat,
        app.config.refresh_token_lifetime_secs
    );
    let access_claims = verifier
        .verify(access, TokenType::Access)
        .expect("an access token");
    assert_eq!(
        access_claims.exp - access_claims.iat,
        app.config.access_token_lifetime_secs
    );
    assert_eq!(app.get_profile(access).await.status().as_u16(), 200);
}

#[rstest]
#[tokio::test]
async fn login_returns_401_for_a_wrong_password(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let response = app.login(&owner.phone, "not-my-password").await;

    // Assert
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"api\"")
    );
    assert_eq!(
        status_and_json(response).await,
        (401, json!({"detail": INVALID_CREDENTIALS}))
    );
}

#[rstest]
#[tokio::test]
async fn login_returns_the_same_401_for_an_unknown_or_malformed_phone(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    TestOwner::registered(&app).await;

    // Act
    let unknown = app.login(&unique_phone(), "secret123").await;
    let malformed = app.login("not a phone", "secret123").await;

    // Assert
    assert_eq!(
        status_and_json(unknown).await,
        (401, json!({"detail": INVALID_CREDENTIALS}))
    );
    assert_eq!(
        status_and_json(malformed).await,
        (401, json!({"detail": INVALID_CREDENTIALS}))
    );
}

#[rstest]
#[tokio::test]
async fn login_returns_400_with_every_missing_field_at_once(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let missing = app.post_json("/api/login/", &json!({})).await;
    let blank = app
        .post_json("/api/login/", &json!({"phone_number": " ", "password": ""}))
        .await;

    // Assert
    assert_eq!(
        status_and_json(missing).await,
        (
            400,
            json!({
                "phone_number": ["This field is required."],
                "password": ["This field is required."],
            })
        )
    );
    assert_eq!(
        status_and_json(blank).await,
        (
            400,
            json!({
                "phone_number": ["This field may not be blank."],
                "password": ["This field may not be blank."],
            })
        )
    );
}

#[rstest]
#[tokio::test]
async fn login_returns_400_for_malformed_json_and_415_for_other_media(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;

    // Act
    let malformed = app
        .post_raw("/api/login/", "application/json", "{nope")
        .await;
    let xml = app
        .post_raw("/api/login/", "application/xml", "<login/>")
        .await;

    // Assert
    let (status, body) = status_and_json(malformed).await;
    assert_eq!(status, 400);
    assert!(body["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("JSON parse error - ")));
    assert_eq!(
        status_and_json(xml).await,
        (
            415,
            json!({"detail": "Unsupported media type \"application/xml\" in request."})
        )
    );
}

#[rstest]
#[tokio::test]
async fn login_accepts_a_form_encoded_body_as_drf_did(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let form = format!(
        "phone_number={}&password={}",
        owner.phone.replace('+', "%2B"),
        owner.password
    );

    // Act
    let response = app
        .post_raw("/api/login", "application/x-www-form-urlencoded", form)
        .await;

    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["id"], owner.id.to_string());
}

#[rstest]
#[tokio::test]
async fn login_is_throttled_after_the_allowed_failures_even_with_the_right_password(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.login_failures_per_phone = 3).await;
    let owner = TestOwner::registered(&app).await;
    let bystander = TestOwner::registered(&app).await;
    // Failures count per number, however it is spelled.
    for spelling in [
        owner.phone.clone(),
        spaced(&owner.phone),
        owner.phone.clone(),
    ] {
        let failed = app.login(&spelling, "wrong-password").await;
        assert_eq!(failed.status().as_u16(), 401);
    }

    // Act
    let response = app.login(&owner.phone, &owner.password).await;

    // Assert
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!(retry_after > 0);
    let body = body_json(response).await;
    assert_eq!(
        body,
        json!({"detail": format!("Request was throttled. Expected available in {retry_after} seconds.")})
    );
    let other = app.login(&bystander.phone, &bystander.password).await;
    assert_eq!(
        other.status().as_u16(),
        200,
        "other numbers are not throttled"
    );
}

#[rstest]
#[tokio::test]
async fn a_successful_login_clears_earlier_failures(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.login_failures_per_phone = 2).await;
    let owner = TestOwner::registered(&app).await;
    assert_eq!(
        app.login(&owner.phone, "wrong").await.status().as_u16(),
        401
    );
    assert_eq!(
        app.login(&owner.phone, &owner.password)
            .await
            .status()
            .as_u16(),
        200
    );

    // Act
    let failed = app.login(&owner.phone, "wrong").await;
    let response = app.login(&owner.phone, &owner.password).await;

    // Assert
    assert_eq!(failed.status().as_u16(), 401);
    assert_eq!(response.status().as_u16(), 200);
}

#[rstest]
#[tokio::test]
async fn login_is_never_throttled_when_rate_limits_are_off(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.login_failures_per_phone = 2;
        c.login_failures_per_address = 2;
        c.common.rate_limits = RateLimits::Off;
    })
    .await;
    let owner = TestOwner::registered(&app).await;
    for _ in 0..6 {
        let failed = app.login(&owner.phone, "wrong-password").await;
        assert_eq!(
            status_and_json(failed).await,
            (401, json!({"detail": INVALID_CREDENTIALS}))
        );
    }

    // Act
    let response = app.login(&owner.phone, &owner.password).await;

    // Assert
    assert_eq!(response.status().as_u16(), 200);
}
