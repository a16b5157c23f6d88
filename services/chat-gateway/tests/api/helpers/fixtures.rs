//! Who takes part in a test: owners known to the projection, started chats and their
//! visitors, and owner snapshots as accounts-api publishes them.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use chat_gateway::store::Owner;
use shared::{events::catalog::UserSnapshot, ids::UserId};

use super::TestApp;

/// Who calls an endpoint or opens a socket.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials at all.
    None,
    /// `Authorization: Bearer` / `?token=`.
    Owner(String),
    /// `?visitor=`.
    Visitor(String),
}

/// A known owner: its id and an access token accounts-api would have issued.
#[derive(Debug, Clone)]
pub struct TestOwner {
    /// The owner's (sticker's) id.
    pub id: UserId,
    /// A valid access token.
    pub token: String,
}

impl TestOwner {
    /// An owner written straight into the projection (for tests not about the projection).
    pub async fn registered(app: &TestApp) -> Self {
        Self::stored(app, true, true).await
    }

    /// An owner in the projection with the given flags.
    pub async fn stored(app: &TestApp, is_registered: bool, is_profile_public: bool) -> Self {
        let owner = Self::unknown(app);
        app.state
            .store
            .upsert_owner(&Owner {
                id: owner.id,
                is_registered,
                is_profile_public,
                version: 1,
            })
            .await
            .expect("owner stored");
        owner
    }

    /// An owner the gateway has never heard of, with a perfectly valid token.
    pub fn unknown(app: &TestApp) -> Self {
        let id = UserId::new_random();
        Self {
            id,
            token: app.access_token(id),
        }
    }

    /// As an owner credential.
    pub fn auth(&self) -> Auth {
        Auth::Owner(self.token.clone())
    }
}

/// A room a visitor has opened.
#[derive(Debug, Clone)]
pub struct StartedChat {
    /// The room id.
    pub room_id: String,
    /// The visitor's credential.
    pub visitor_token: String,
}

impl StartedChat {
    /// As a visitor credential.
    pub fn visitor(&self) -> Auth {
        Auth::Visitor(self.visitor_token.clone())
    }
}

/// A registration snapshot as accounts-api would publish it.
pub fn snapshot(
    id: UserId,
    is_registered: bool,
    is_profile_public: bool,
    version: i64,
) -> UserSnapshot {
    UserSnapshot {
        id,
        is_registered,
        is_profile_public,
        full_name: "Ali Valiyev".into(),
        car_model: "Cobalt".into(),
        car_plate_number: "01A123BC".into(),
        version,
    }
}
