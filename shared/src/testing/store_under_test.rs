//! A service's store on a fresh database of one backend, migrated as the service migrates it:
//! the subject of the store contracts.

use std::sync::Arc;

use super::TestDatabase;
use crate::{config::Backend, db::Schema};

/// A store and the database it runs on.
pub struct StoreUnderTest<S: ?Sized> {
    /// The store, opened through the service's `SCHEMA`.
    pub store: Arc<S>,
    // Last: the store's pool points at it until the store is gone.
    _db: TestDatabase,
}

impl<S: ?Sized> StoreUnderTest<S> {
    /// The store of `schema` on a fresh database of `backend`.
    pub async fn on(schema: &Schema<S>, backend: Backend) -> Self {
        super::init_test_tracing();
        let db = TestDatabase::create(backend).await;
        match schema.connect(db.url(), 2).await {
            Ok(store) => Self { store, _db: db },
            Err(e) => panic!("the store connects and migrates: {e:#}"),
        }
    }
}
