//! What the replicas of one drill share: a database, a NATS subject prefix and a JWT key, and
//! the owners registered in the gateway's owner projection before any chat starts.

use secrecy::{ExposeSecret, SecretString};
use shared::{
    auth::{KeyRing, TokenType},
    config::DatabaseUrl,
    ids::UserId,
    testing::{nats_url, unique_prefix},
};

/// The settings every replica of a drill gets.
pub struct Deployment {
    /// The chat database.
    pub database_url: DatabaseUrl,
    /// The NATS server.
    pub nats_url: String,
    /// The subject prefix of this drill alone.
    pub prefix: String,
    /// The key accounts-api would sign owner tokens with.
    pub secret: SecretString,
}

/// A registered owner and an access token accounts-api would have issued.
pub struct Owner {
    /// The owner's id.
    pub id: UserId,
    /// `?token=` / `Authorization: Bearer`.
    pub token: String,
}

impl Deployment {
    /// Replicas on `database_url`, the test NATS under a fresh prefix and a fresh key.
    pub fn on(database_url: DatabaseUrl) -> Self {
        Self {
            database_url,
            nats_url: nats_url(),
            prefix: unique_prefix(),
            secret: SecretString::from(format!(
                "fault-drill-{}-{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )),
        }
    }

    /// The environment a replica named `replica_id` runs with, listening on `port`.
    pub fn env(&self, replica_id: &str, port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
            ("DATABASE_URL", self.database_url.expose().to_owned()),
            ("NATS_URL", self.nats_url.clone()),
            ("NATS_SUBJECT_PREFIX", self.prefix.clone()),
            // Unbounded: JetStream reserves a bounded stream's bytes for as long as it exists,
            // and the drills' streams stay on the shared server (`StreamLimits::unbounded`).
            ("NATS_CHAT_STREAM_MAX_BYTES", "-1".to_owned()),
            ("NATS_ACCOUNTS_STREAM_MAX_BYTES", "-1".to_owned()),
            ("JWT_SECRET", self.secret.expose_secret().to_owned()),
            ("REPLICA_ID", replica_id.to_owned()),
        ]
    }

    /// `count` owners written into the owner projection (migrating the database first), as
    /// the projection would after their `accounts.users.<id>.registered` events.
    pub async fn register_owners(&self, count: usize) -> Vec<Owner> {
        let store = chat_gateway::store::SCHEMA
            .connect(&self.database_url, 2)
            .await
            .unwrap_or_else(|e| panic!("the chat database migrates: {e:#}"));
        let keys = KeyRing::new(&self.secret, &[]);
        let mut owners = Vec::with_capacity(count);
        for _ in 0..count {
            let id = UserId::new_random();
            store
                .upsert_owner(&chat_gateway::store::Owner {
                    id,
                    is_registered: true,
                    is_profile_public: true,
                    version: 1,
                })
                .await
                .unwrap_or_else(|e| panic!("owner stored: {e}"));
            let token = keys
                .signer()
                .sign(id, TokenType::Access, 3600)
                .unwrap_or_else(|e| panic!("token signed: {e}"));
            owners.push(Owner { id, token });
        }
        owners
    }
}
