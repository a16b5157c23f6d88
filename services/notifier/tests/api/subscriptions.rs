//! `POST` and `DELETE /api/push/subscriptions/`: an owner's browsers subscribe and
//! unsubscribe; bodies are checked field by field, tokens as the other services check them.
//! Endpoints here are on loopback with private endpoints allowed: nothing is ever sent to
//! them (no event is published), and the SSRF rule has its own tests (`ssrf.rs`).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rstest::rstest;
use serde_json::{json, Value};
use shared::{config::Backend, ids::UserId};

use crate::helpers::{spawn_app_with, Subscriber, TestApp};

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| config.push_allow_private_endpoints = true).await
}

fn subscriber(name: &str) -> Subscriber {
    Subscriber::new(format!("https://127.0.0.1:9/push/{name}"))
}

#[rstest]
#[tokio::test]
async fn a_new_endpoint_is_created_with_201_and_a_known_one_replaced_with_200(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app(backend).await;
    let owner = UserId::new_random();
    let bearer = format!("Bearer {}", app.token(owner));
    let browser = subscriber("a");
    let renewed = Subscriber::new(browser.endpoint.clone());

    // Act
    let created = app.subscribe(Some(&bearer), &browser.body()).await;
    let created_status = created.status();
    let created_body: Value = created.json().await.unwrap();
    let replaced = app.subscribe(Some(&bearer), &renewed.body()).await;

    // Assert
    assert_eq!(created_status, 201);
    assert_eq!(created_body, json!({"endpoint": browser.endpoint}));
    assert_eq!(replaced.status(), 200);
    assert_eq!(app.service.store.count_subscriptions().await.unwrap(), 1);
}

#[tokio::test]
async fn every_failing_field_is_reported_at_once_with_the_keys_nested() {
    // Arrange
    let app = app(Backend::Sqlite).await;
    let bearer = format!("Bearer {}", app.token(UserId::new_random()));
    let mut off_curve = subscriber("x").body();
    let mut point = URL_SAFE_NO_PAD
        .decode(off_curve["keys"]["p256dh"].as_str().unwrap())
        .unwrap();
    // One bit of y flipped: still 65 bytes, no longer a point of the curve.
    point[64] ^= 1;
    off_curve["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode(&point));
    off_curve["keys"]["auth"] = json!("c2hvcnQ");
    off_curve["endpoint"] = json!("ftp://push.example/x");

    // Act
    let cases = [
        (
            json!({}),
            json!({"endpoint": ["This field is required."], "keys": ["This field is required."]}),
        ),
        (
            off_curve,
            json!({
                "endpoint": ["Enter a valid URL."],
                "keys": {"p256dh": ["Is not a point on the P-256 curve."], "auth": ["Must be 16 bytes."]},
            }),
        ),
        (
            json!({"endpoint": "not a url", "keys": {"p256dh": "%%%", "auth": ""}}),
            json!({
                "endpoint": ["Enter a valid URL."],
                "keys": {"p256dh": ["Enter a valid base64url value."], "auth": ["This field may not be blank."]},
            }),
        ),
        (
            json!({"endpoint": null, "keys": []}),
            json!({
                "endpoint": ["This field may not be null."],
                "keys": {"non_field_errors": ["Invalid data. Expected a dictionary."]},
            }),
        ),
    ];
    let mut answers = Vec::new();
    for (body, _) in &cases {
        let response = app.subscribe(Some(&bearer), body).await;
        answers.push((
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        ));
    }

    // Assert
    for ((_, expected), (status, body)) in cases.iter().zip(answers) {
        assert_eq!(status, 400, "{body}");
        assert_eq!(&body, expected);
    }
}

#[tokio::test]
async fn requests_without_a_valid_access_token_get_the_same_401s_as_the_other_services() {
    // Arrange
    let app = app(Backend::Sqlite).await;
    let body = subscriber("a").body();
    let refresh = format!("Bearer {}", app.refresh_token(UserId::new_random()));

    // Act
    let missing = app.subscribe(None, &body).await;
    let missing_header = missing.headers().get("www-authenticate").cloned();
    let missing: Value = missing.json().await.unwrap();
    let garbage = app.subscribe(Some("Bearer not-a-token"), &body).await;
    let garbage_status = garbage.status();
    let garbage: Value = garbage.json().await.unwrap();
    let refresh = app.subscribe(Some(&refresh), &body).await;
    let refresh_status = refresh.status();
    let refresh: Value = refresh.json().await.unwrap();
    let malformed = app
        .unsubscribe(Some("Bearer a b"), &json!({"endpoint": "x"}))
        .await;
    let malformed_status = malformed.status();
    let deleted_without = app.unsubscribe(None, &json!({"endpoint": "x"})).await;

    // Assert
    assert_eq!(
        missing,
        json!({"detail": "Authentication credentials were not provided."})
    );
    assert_eq!(missing_header.unwrap(), "Bearer realm=\"api\"");
    assert_eq!(garbage_status, 401);
    assert_eq!(garbage["code"], "token_not_valid");
    assert_eq!(
        garbage["detail"],
        "Given token not valid for any token type"
    );
    assert_eq!(garbage["messages"][0]["token_type"], "access");
    assert_eq!(refresh_status, 401);
    assert_eq!(refresh["code"], "token_not_valid");
    assert_eq!(malformed_status, 401);
    assert_eq!(deleted_without.status(), 401);
    assert_eq!(app.service.store.count_subscriptions().await.unwrap(), 0);
}

#[rstest]
#[tokio::test]
async fn an_owner_deletes_only_their_own_subscription(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = app(backend).await;
    let (owner, other) = (UserId::new_random(), UserId::new_random());
    let browser = subscriber("mine");
    app.subscribe_as(owner, &browser.body()).await;
    let endpoint = json!({"endpoint": browser.endpoint});

    // Act
    let by_other = app
        .unsubscribe(Some(&format!("Bearer {}", app.token(other))), &endpoint)
        .await;
    let by_other_status = by_other.status();
    let by_other: Value = by_other.json().await.unwrap();
    let own = format!("Bearer {}", app.token(owner));
    let by_owner = app.unsubscribe(Some(&own), &endpoint).await;
    let again = app.unsubscribe(Some(&own), &endpoint).await;
    let without_endpoint = app.unsubscribe(Some(&own), &json!({})).await;

    // Assert
    assert_eq!(by_other_status, 404);
    assert_eq!(by_other, json!({"detail": "Not found."}));
    assert_eq!(by_owner.status(), 204);
    assert_eq!(again.status(), 404);
    assert_eq!(without_endpoint.status(), 400);
    assert_eq!(
        without_endpoint.json::<Value>().await.unwrap(),
        json!({"endpoint": ["This field is required."]})
    );
    assert_eq!(app.service.store.count_subscriptions().await.unwrap(), 0);
}

#[tokio::test]
async fn an_owner_holds_at_most_the_configured_number_of_subscriptions() {
    // Arrange
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.push_allow_private_endpoints = true;
        config.push_max_subscriptions_per_owner = 2;
    })
    .await;
    let owner = UserId::new_random();
    let bearer = format!("Bearer {}", app.token(owner));
    let (first, second) = (subscriber("1"), subscriber("2"));
    app.subscribe_as(owner, &first.body()).await;
    app.subscribe_as(owner, &second.body()).await;

    // Act
    let third = app.subscribe(Some(&bearer), &subscriber("3").body()).await;
    let third_status = third.status();
    let third: Value = third.json().await.unwrap();
    let renewed = app
        .subscribe(
            Some(&bearer),
            &Subscriber::new(first.endpoint.clone()).body(),
        )
        .await;

    // Assert
    assert_eq!(third_status, 429);
    assert!(
        third["detail"].as_str().unwrap().contains("subscriptions"),
        "{third}"
    );
    assert_eq!(renewed.status(), 200, "a known endpoint is not one more");
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_refused() {
    // Arrange
    let app = app(Backend::Sqlite).await;
    let mut body = subscriber("big").body();
    body["padding"] = json!("x".repeat(16 * 1024));

    // Act
    let response = app
        .subscribe(
            Some(&format!("Bearer {}", app.token(UserId::new_random()))),
            &body,
        )
        .await;

    // Assert
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "Request body is too large."})
    );
}
