//! The cache's guarantees, one test each, on the in-process bus (always connected).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::body::Bytes;
use shared::{events::InProcessBus, ids::UserId};

use super::{Found, PublicProfile, PublicProfileCache};

fn cache(ttl: Duration, max_entries: usize) -> PublicProfileCache {
    let cache = PublicProfileCache::new(ttl, max_entries, Arc::new(InProcessBus::new()));
    cache.reset(true);
    cache
}

fn shown(text: &'static str) -> PublicProfile {
    PublicProfile::Shown(Bytes::from_static(text.as_bytes()))
}

/// Answers `profile` at `version` from a pretend database, counting the reads.
async fn get(
    cache: &PublicProfileCache,
    id: UserId,
    reads: &AtomicUsize,
    version: i64,
    profile: PublicProfile,
) -> PublicProfile {
    cache
        .get(id, || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Found::stored(version, profile))
        })
        .await
        .unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_second_request_is_answered_from_memory() {
    let cache = cache(HOUR, 10);
    let (id, reads) = (UserId::new_random(), AtomicUsize::new(0));

    get(&cache, id, &reads, 1, shown("a")).await;
    let second = get(&cache, id, &reads, 1, shown("b")).await;

    assert_eq!(second, shown("a"));
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_fill_that_read_before_an_invalidation_is_not_stored() {
    let cache = cache(HOUR, 10);
    let id = UserId::new_random();

    // The read returns the old row; the change commits and invalidates meanwhile.
    let answered = cache
        .get(id, || async {
            cache.invalidate(id);
            Ok::<_, ()>(Found::stored(1, shown("old")))
        })
        .await
        .unwrap();

    assert_eq!(answered, shown("old"));
    assert!(cache.cached(id).is_none());
}

#[tokio::test]
async fn nothing_is_served_or_stored_before_the_events_are_followed() {
    let cache = PublicProfileCache::new(HOUR, 10, Arc::new(InProcessBus::new()));
    let (id, reads) = (UserId::new_random(), AtomicUsize::new(0));

    get(&cache, id, &reads, 1, shown("a")).await;
    get(&cache, id, &reads, 1, shown("a")).await;

    assert_eq!(reads.load(Ordering::SeqCst), 2);
    assert!(cache.cached(id).is_none());
}

#[tokio::test]
async fn an_event_drops_an_older_entry_and_keeps_one_at_least_as_new() {
    let cache = cache(HOUR, 10);
    let (older, current, reads) = (
        UserId::new_random(),
        UserId::new_random(),
        AtomicUsize::new(0),
    );
    get(&cache, older, &reads, 1, shown("a")).await;
    get(&cache, current, &reads, 2, shown("b")).await;

    cache.changed(older, 2);
    cache.changed(current, 2);

    assert!(cache.cached(older).is_none());
    assert!(cache.cached(current).is_some());
}

#[tokio::test]
async fn a_reset_drops_everything() {
    let cache = cache(HOUR, 10);
    let (id, reads) = (UserId::new_random(), AtomicUsize::new(0));
    get(&cache, id, &reads, 1, shown("a")).await;

    cache.reset(true);

    assert!(cache.cached(id).is_none());
}

#[tokio::test]
async fn an_entry_is_served_no_longer_than_the_ttl() {
    let cache = cache(Duration::from_millis(50), 10);
    let (id, reads) = (UserId::new_random(), AtomicUsize::new(0));
    get(&cache, id, &reads, 1, shown("a")).await;

    tokio::time::sleep(Duration::from_millis(60)).await;
    let later = get(&cache, id, &reads, 2, shown("b")).await;

    assert_eq!(later, shown("b"));
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_ids_are_not_stored_and_the_bound_holds() {
    let cache = cache(HOUR, 8);
    for _ in 0..100 {
        cache
            .get(UserId::new_random(), || async {
                Ok::<_, ()>(Found::missing())
            })
            .await
            .unwrap();
    }
    assert_eq!(cache.inner().entries.len(), 0);

    let reads = AtomicUsize::new(0);
    for _ in 0..100 {
        get(
            &cache,
            UserId::new_random(),
            &reads,
            1,
            PublicProfile::NotFound,
        )
        .await;
        assert!(cache.inner().entries.len() <= 8);
    }
}

#[tokio::test]
async fn a_ttl_of_zero_turns_the_cache_off() {
    let cache = cache(Duration::ZERO, 10);
    let (id, reads) = (UserId::new_random(), AtomicUsize::new(0));

    get(&cache, id, &reads, 1, shown("a")).await;
    get(&cache, id, &reads, 1, shown("a")).await;

    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_abandoned_write_still_invalidates() {
    let cache = cache(HOUR, 10);
    let (id, reads) = (UserId::new_random(), AtomicUsize::new(0));
    get(&cache, id, &reads, 1, shown("a")).await;

    // The request is dropped while its write is in flight (the client went away).
    let write = async {
        let _changing = cache.changing(id);
        std::future::pending::<()>().await;
    };
    let _ = tokio::time::timeout(Duration::from_millis(10), write).await;

    assert!(cache.cached(id).is_none());
}
