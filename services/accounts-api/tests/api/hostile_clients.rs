//! What an anonymous client can make accounts-api hold or do: throttle state, password
//! hashing, lockouts, odd bodies and metric series. Each test is a hostile client's attempt
//! through the public HTTP interface, and checks the server stayed bounded and correct.

use futures::future::join_all;
use rstest::rstest;
use serde_json::json;
use shared::{config::Backend, testing::memory};

use crate::helpers::{spawn_app, spawn_app_with, status_and_json, unique_phone, TestOwner};

fn statuses(responses: &[reqwest::Response]) -> (usize, usize, usize) {
    let count = |code: u16| {
        responses
            .iter()
            .filter(|r| r.status().as_u16() == code)
            .count()
    };
    (count(401), count(429), responses.len())
}

#[tokio::test]
async fn failed_logins_with_huge_new_phone_numbers_do_not_grow_the_server() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;
    let attempt = |i: usize| {
        let app = &app;
        async move {
            let phone = format!("+{i:0>60000}");
            app.login(&phone, "wrong-password").await.status().as_u16()
        }
    };
    // Warm the allocator and the client's connections up first.
    for chunk in (0..64).collect::<Vec<_>>().chunks(16) {
        join_all(chunk.iter().map(|&i| attempt(i))).await;
    }

    // Act
    let (codes, growth_kib) = memory::peak_growth_during(async {
        let mut codes = Vec::new();
        for chunk in (64..3064).collect::<Vec<_>>().chunks(16) {
            codes.extend(join_all(chunk.iter().map(|&i| attempt(i))).await);
        }
        codes
    })
    .await;

    // Assert: 3,000 keys of 60 KB would be 180 MB.
    assert!(codes.iter().all(|&c| c == 401 || c == 429), "{codes:?}");
    assert!(growth_kib < 40 * 1024, "RSS grew by {growth_kib} KiB");
}

#[rstest]
#[tokio::test]
async fn concurrent_guesses_for_one_phone_verify_no_more_than_the_allowance(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;

    // Act
    let responses = join_all((0..64).map(|_| app.login(&owner.phone, "wrong-password"))).await;

    // Assert: five guesses were checked (401), every other one refused unchecked (429).
    assert_eq!(statuses(&responses), (5, 59, 64));
}

#[tokio::test]
async fn concurrent_hashing_is_bounded_and_the_overflow_is_told_to_retry() {
    // Arrange: hashes slow enough to overlap.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.argon2_memory_kib = 8 * 1024;
        c.argon2_iterations = 3;
        c.argon2_max_concurrent = 1;
        c.argon2_max_queued = 2;
    })
    .await;

    // Act
    let phones: Vec<String> = (0..32).map(|_| unique_phone()).collect();
    let responses = join_all(phones.iter().map(|p| app.login(p, "some-password"))).await;

    // Assert
    let (checked, refused, all) = statuses(&responses);
    assert_eq!(checked + refused, all, "only 401 and 429, never a 5xx");
    assert!(
        checked >= 1 && refused >= 1,
        "{checked} checked, {refused} refused"
    );
    for response in responses.into_iter().filter(|r| r.status() == 429) {
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let (_, body) = status_and_json(response).await;
        assert!(body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Request was throttled.")));
    }
}

#[rstest]
#[tokio::test]
async fn failures_from_one_address_never_lock_the_owner_out_elsewhere(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let owner = TestOwner::registered(&app).await;
    let attacker = [127, 0, 0, 2];
    let mut codes = Vec::new();
    for _ in 0..6 {
        let response = app.login_from(attacker, &owner.phone, "guess").await;
        codes.push(response.status().as_u16());
    }

    // Act
    let owner_elsewhere = app
        .login_from([127, 0, 0, 3], &owner.phone, &owner.password)
        .await;
    let attacker_with_the_password = app
        .login_from(attacker, &owner.phone, &owner.password)
        .await;

    // Assert
    assert_eq!(codes, [401, 401, 401, 401, 401, 429]);
    assert_eq!(owner_elsewhere.status(), 200);
    assert_eq!(attacker_with_the_password.status(), 429);
}

#[rstest]
#[tokio::test]
async fn guesses_from_all_addresses_together_are_bounded(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| c.login_failures_per_phone_total = 8).await;
    let owner = TestOwner::registered(&app).await;

    // Act: three addresses, five guesses each.
    let mut checked = 0;
    for source in 2..5 {
        for _ in 0..5 {
            let response = app
                .login_from([127, 0, 0, source], &owner.phone, "guess")
                .await;
            checked += usize::from(response.status() == 401);
        }
    }

    // Assert
    assert_eq!(checked, 8);
    let fresh = app.login_from([127, 0, 0, 9], &owner.phone, "guess").await;
    assert_eq!(fresh.status(), 429);
}

#[tokio::test]
async fn a_form_body_with_a_stray_percent_before_a_multibyte_character_is_a_401() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;

    // Act
    let response = app
        .post_raw(
            "/api/login/",
            "application/x-www-form-urlencoded",
            "phone_number=1&password=%€",
        )
        .await;

    // Assert
    assert_eq!(
        status_and_json(response).await,
        (401, json!({"detail": "Invalid phone number or password."}))
    );
}

#[tokio::test]
async fn invented_methods_and_paths_do_not_add_metric_series() {
    // Arrange
    let app = spawn_app(Backend::Sqlite).await;
    let invent = |i: usize| {
        let method = reqwest::Method::from_bytes(format!("X{i}Y").as_bytes()).expect("a method");
        app.request(method, &format!("/api/nothing-{i}/here/{i}"))
            .send()
    };
    join_all((0..20).map(invent)).await;
    app.get("/metrics").await;
    let before = app.get("/metrics").await.text().await.expect("metrics");

    // Act
    for chunk in (20..2020).collect::<Vec<_>>().chunks(50) {
        for response in join_all(chunk.iter().map(|&i| invent(i))).await {
            assert!(response.expect("answered").status().is_client_error());
        }
    }
    let after = app.get("/metrics").await.text().await.expect("metrics");

    // Assert: the same series, only their counts moved.
    assert!(
        after.len() < before.len() + 1024,
        "/metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
    assert!(!after.contains("X2019Y") && !after.contains("nothing-2019"));
}
