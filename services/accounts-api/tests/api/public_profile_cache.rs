//! `GET /user/<id>/` from memory: what a replica serves stays current. A change is served at
//! once by the replica that made it and on the event by the others; a replica cut off from
//! NATS serves nothing from memory and forgets everything when it is back; invented ids do
//! not grow the cache past its bound; a profile from memory is byte for byte the one from the
//! database. The TTL is an hour here unless a test says otherwise, so only the events and
//! the invalidation on write can pass these tests.

use std::net::SocketAddr;

use accounts_api::{profile_cache::PublicProfile, Config};
use rstest::rstest;
use serde_json::json;
use shared::{config::Backend, ids::UserId, testing::TcpProxy};

use crate::helpers::{
    eventually, registration, spawn_app_with, spawn_replica_of, status_and_json, unique_phone,
    TestApp, TestOwner,
};

fn for_an_hour(config: &mut Config) {
    config.public_profile_cache_ttl_secs = 3600;
}

/// Asks `app` for `id`'s profile until it answers from memory.
pub async fn served_from_memory(app: &TestApp, id: UserId) {
    eventually("the replica holds the public profile", || async {
        let response = app.get_public_user(&id.to_string()).await;
        assert_eq!(response.status().as_u16(), 200);
        matches!(app.profiles.cached(id), Some(PublicProfile::Shown(_))).then_some(())
    })
    .await;
}

/// Hides `owner`'s profile through `a` (200), then waits until `b` answers 404 for it.
pub async fn hide_on_one_and_see_it_gone_from(a: &TestApp, b: &TestApp, owner: &TestOwner) {
    let hide = a
        .patch_profile(&owner.access, &json!({"is_profile_public": false}))
        .await;
    assert_eq!(hide.status().as_u16(), 200);
    eventually("the other replica answers 404", || async {
        (status_of(b, owner.id).await == 404).then_some(())
    })
    .await;
}

pub async fn status_of(app: &TestApp, id: UserId) -> u16 {
    app.get_public_user(&id.to_string()).await.status().as_u16()
}

#[tokio::test]
async fn a_profile_hidden_on_one_replica_stops_being_served_by_the_other() {
    // Arrange
    let a = spawn_app_with(Backend::Postgres, for_an_hour).await;
    let b = spawn_replica_of(&a, |_| {}).await;
    let owner = TestOwner::registered(&a).await;
    served_from_memory(&b, owner.id).await;

    // Act, Assert
    hide_on_one_and_see_it_gone_from(&a, &b, &owner).await;
}

#[tokio::test]
async fn a_changed_full_name_shows_on_the_other_replica() {
    // Arrange
    let a = spawn_app_with(Backend::Postgres, for_an_hour).await;
    let b = spawn_replica_of(&a, |_| {}).await;
    let owner = TestOwner::registered_with(&a, json!({"full_name": "Aziz"})).await;
    served_from_memory(&b, owner.id).await;

    // Act
    let rename = a
        .patch_profile(&owner.access, &json!({"full_name": "Bobur"}))
        .await;

    // Assert
    assert_eq!(rename.status().as_u16(), 200);
    eventually("the other replica shows the new name", || async {
        let (status, body) = status_and_json(b.get_public_user(&owner.id.to_string()).await).await;
        assert_eq!(status, 200);
        (body["full_name"] == "Bobur").then_some(())
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn the_next_request_after_hiding_or_showing_a_profile_sees_the_change_on_the_same_replica(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, for_an_hour).await;
    let owner = TestOwner::registered_with(&app, json!({"full_name": "Aziz"})).await;
    served_from_memory(&app, owner.id).await;

    // Act + Assert: each answer right after the write, no waiting.
    let hide = app
        .patch_profile(&owner.access, &json!({"is_profile_public": false}))
        .await;
    assert_eq!(hide.status().as_u16(), 200);
    assert_eq!(
        status_and_json(app.get_public_user(&owner.id.to_string()).await).await,
        (404, json!({"detail": "Not found."}))
    );
    let show = app
        .put_profile(
            &owner.access,
            &json!({"is_profile_public": true, "full_name": "Bobur"}),
        )
        .await;
    assert_eq!(show.status().as_u16(), 200);
    let (status, body) = status_and_json(app.get_public_user(&owner.id.to_string()).await).await;
    assert_eq!((status, &body["full_name"]), (200, &json!("Bobur")));
}

#[rstest]
#[tokio::test]
async fn a_registration_is_served_at_once_where_the_sticker_was_cached_as_not_found(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: an issued sticker is a stored user, so its 404 is kept.
    let app = spawn_app_with(backend, for_an_hour).await;
    let sticker = app.sticker().await;
    eventually("the replica holds the sticker's 404", || async {
        assert_eq!(status_of(&app, sticker).await, 404);
        (app.profiles.cached(sticker) == Some(PublicProfile::NotFound)).then_some(())
    })
    .await;

    // Act
    let response = app.register(&registration(sticker, &unique_phone())).await;

    // Assert
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(status_of(&app, sticker).await, 200);
}

#[tokio::test]
async fn a_replica_cut_off_from_nats_serves_nothing_from_memory_and_forgets_it_all_when_back() {
    // Arrange: B reaches NATS through a proxy the test can cut; A directly.
    let a = spawn_app_with(Backend::Postgres, for_an_hour).await;
    let nats_url = a.config.common.nats_url.clone().expect("NATS");
    let nats: SocketAddr = tokio::net::lookup_host(nats_url.trim_start_matches("nats://"))
        .await
        .expect("NATS address resolves")
        .next()
        .expect("an address");
    let proxy = TcpProxy::start(nats).await;
    let b = spawn_replica_of(&a, |c| {
        c.common.nats_url = Some(format!("nats://{}", proxy.addr()));
    })
    .await;
    let owner = TestOwner::registered(&a).await;
    served_from_memory(&b, owner.id).await;

    // Act: the hide is published while B cannot hear it.
    proxy.cut();
    let hide = a
        .patch_profile(&owner.access, &json!({"is_profile_public": false}))
        .await;
    assert_eq!(hide.status().as_u16(), 200);
    a.wait_for_empty_outbox().await;

    // Assert: B goes to the database while cut off, though it still holds the old answer.
    eventually("the cut-off replica answers 404", || async {
        (status_of(&b, owner.id).await == 404).then_some(())
    })
    .await;
    assert!(matches!(
        b.profiles.cached(owner.id),
        Some(PublicProfile::Shown(_))
    ));

    // Assert: back on NATS, the answer it held (whose event it missed) is gone.
    proxy.restore();
    eventually("the reconnected replica holds the 404", || async {
        assert_eq!(status_of(&b, owner.id).await, 404);
        (b.profiles.cached(owner.id) == Some(PublicProfile::NotFound)).then_some(())
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn invented_ids_and_more_profiles_than_the_bound_keep_the_cache_within_it(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let app = spawn_app_with(backend, |c| {
        c.public_profile_cache_ttl_secs = 3600;
        c.public_profile_cache_max_entries = 4;
    })
    .await;
    let mut owners = Vec::new();
    for _ in 0..8 {
        owners.push(TestOwner::registered(&app).await);
    }
    served_from_memory(&app, owners[0].id).await;

    // Act
    for _ in 0..2 {
        for owner in &owners {
            let (status, body) =
                status_and_json(app.get_public_user(&owner.id.to_string()).await).await;
            assert_eq!((status, &body["id"]), (200, &json!(owner.id.to_string())));
        }
    }
    for _ in 0..300 {
        assert_eq!(status_of(&app, UserId::new_random()).await, 404);
    }

    // Assert
    let entries = app
        .metric("public_profile_cache_entries")
        .await
        .expect("the entries gauge");
    assert!((1.0..=4.0).contains(&entries), "{entries} entries");
    let hits = app
        .metric(r#"public_profile_cache_requests_total{result="hit"}"#)
        .await
        .expect("the hit counter");
    let misses = app
        .metric(r#"public_profile_cache_requests_total{result="miss"}"#)
        .await
        .expect("the miss counter");
    assert!(hits >= 1.0, "{hits} hits");
    assert!(misses >= 300.0, "{misses} misses");
}

#[tokio::test]
async fn a_profile_from_memory_has_the_same_headers_and_body_as_one_from_the_database() {
    // Arrange: the same owner on a replica with a cache and on one without.
    let app = spawn_app_with(Backend::Postgres, for_an_hour).await;
    let uncached = spawn_replica_of(&app, |c| c.public_profile_cache_ttl_secs = 0).await;
    let owner =
        TestOwner::registered_with(&app, json!({"full_name": "Aziz", "car_model": "Cobalt"})).await;
    served_from_memory(&app, owner.id).await;
    let path = format!("/user/{}/", owner.id);

    // Act
    let from_memory = app.get(&path).await;
    let from_database = uncached.get(&path).await;

    // Assert
    let parts = |response: reqwest::Response| async move {
        let status = response.status();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != reqwest::header::DATE)
            .map(|(name, value)| {
                (
                    name.to_string(),
                    value.to_str().expect("ASCII header").to_owned(),
                )
            })
            .collect();
        headers.sort();
        (status, headers, response.bytes().await.expect("body"))
    };
    let (from_memory, from_database) = (parts(from_memory).await, parts(from_database).await);
    assert_eq!(from_memory.0.as_u16(), 200);
    assert!(from_memory
        .1
        .contains(&("content-type".to_owned(), "application/json".to_owned())));
    assert_eq!(from_memory, from_database);
    assert!(matches!(
        app.profiles.cached(owner.id),
        Some(PublicProfile::Shown(_))
    ));
}
