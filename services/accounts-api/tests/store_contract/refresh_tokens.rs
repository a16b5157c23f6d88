//! The refresh-token blacklist: rotation, reuse, logout and pruning.

use accounts_api::domain::RefreshToken;
use chrono::{DateTime, Duration, Utc};
use rstest::rstest;
use shared::{config::Backend, ids::UserId};

use crate::store_on;

/// A verified refresh token of `family` with an id of its own.
fn refresh_token(family: &str, expires_at: DateTime<Utc>) -> RefreshToken {
    RefreshToken {
        user_id: UserId::new_random(),
        jti: uuid::Uuid::new_v4().simple().to_string(),
        family: family.to_owned(),
        expires_at,
    }
}

/// The expiry of a fresh token and of its family's revocation.
fn in_a_day() -> DateTime<Utc> {
    Utc::now() + Duration::days(1)
}

#[rstest]
#[tokio::test]
async fn a_refresh_token_is_used_once_and_its_reuse_revokes_its_family(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let token = refresh_token("family-a", in_a_day());
    let sibling = refresh_token("family-a", in_a_day());
    let stranger = refresh_token("family-b", in_a_day());

    // Act
    let before = store
        .is_refresh_token_blacklisted(&token)
        .await
        .expect("read");
    let first = store
        .use_refresh_token(&token, in_a_day())
        .await
        .expect("used");
    let sibling_before_reuse = store.is_refresh_token_blacklisted(&sibling).await;
    let reuse = store
        .use_refresh_token(&token, in_a_day())
        .await
        .expect("used");
    let sibling_after_reuse = store.use_refresh_token(&sibling, in_a_day()).await;
    let other_family = store.use_refresh_token(&stranger, in_a_day()).await;

    // Assert
    assert!(!before);
    assert!(first, "the first use exchanges");
    assert!(
        !sibling_before_reuse.expect("read"),
        "one use revokes nothing"
    );
    assert!(!reuse, "a second use is reuse");
    assert!(
        store
            .is_refresh_token_blacklisted(&token)
            .await
            .expect("read"),
        "a used token is blacklisted"
    );
    assert!(
        !sibling_after_reuse.expect("used"),
        "reuse revokes the whole family"
    );
    assert!(other_family.expect("used"), "another family is untouched");
}

#[rstest]
#[tokio::test]
async fn logout_blacklists_the_token_and_its_family_once(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let token = refresh_token("family-a", in_a_day());
    let sibling = refresh_token("family-a", in_a_day());

    // Act
    let first = store
        .blacklist_refresh_token(&token, in_a_day())
        .await
        .expect("done");
    let again = store
        .blacklist_refresh_token(&token, in_a_day())
        .await
        .expect("done");

    // Assert
    assert!(first, "the first logout blacklists");
    assert!(!again, "the token was blacklisted already");
    assert!(store
        .is_refresh_token_blacklisted(&token)
        .await
        .expect("read"));
    assert!(
        store
            .is_refresh_token_blacklisted(&sibling)
            .await
            .expect("read"),
        "its family is revoked"
    );
    assert!(
        !store
            .use_refresh_token(&sibling, in_a_day())
            .await
            .expect("used"),
        "no token of the family exchanges any more"
    );
}

#[rstest]
#[tokio::test]
async fn blacklist_rows_past_their_expiry_are_pruned_before_the_next_write(
    #[values(Backend::Postgres, Backend::Sqlite)] backend: Backend,
) {
    // Arrange: a token and family that stopped verifying an hour ago.
    let subject = store_on(backend).await;
    let store = subject.store.as_ref();
    let an_hour_ago = Utc::now() - Duration::hours(1);
    let token = refresh_token("family-old", an_hour_ago);
    assert!(store
        .blacklist_refresh_token(&token, an_hour_ago)
        .await
        .expect("done"));
    assert!(
        store
            .is_refresh_token_blacklisted(&token)
            .await
            .expect("read"),
        "reads do not prune"
    );

    // Act
    let again = store
        .blacklist_refresh_token(&token, an_hour_ago)
        .await
        .expect("done");

    // Assert: both rows were gone when the second logout looked.
    assert!(again);
}
