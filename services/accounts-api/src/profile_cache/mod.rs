//! The public profiles `GET /user/<id>/` serves from memory: each stored user's answer (the
//! rendered JSON of a public profile, or "not found" for a hidden one or an unregistered
//! sticker), so a hot profile costs no database query. It owns staleness: it must never serve
//! an answer a committed change has made wrong for longer than the bound below, and it must
//! not grow with what clients ask for.
//!
//! - On the replica that made a change, the entry is dropped right after the commit, before
//!   the response ([`PublicProfileCache::changing`]).
//! - Other replicas drop it on the change's `accounts.users.*` event
//!   ([`PublicProfileCache::follow_events`]). Every
//!   invalidation moves an epoch; a fill that began before it is not stored, so a request
//!   that read the old row while the change committed cannot put it back.
//! - Events may be missed while the bus is away: nothing is served from memory while it is
//!   disconnected or not yet subscribed, and everything is dropped on each reconnection.
//! - Whatever else goes wrong, an entry is served for at most `PUBLIC_PROFILE_CACHE_TTL_SECS`
//!   after the database read it came from began.
//! - Ids with no row (a client's invented UUIDs) are never stored, and at most
//!   `PUBLIC_PROFILE_CACHE_MAX_ENTRIES` are held.

mod follow;

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use shared::{events::EventBus, ids::UserId};

/// What `GET /user/<id>/` answers for one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicProfile {
    /// 200 with this body: the rendered public user object.
    Shown(Bytes),
    /// 404: hidden, unregistered or unknown.
    NotFound,
}

/// What the database said about an id, for [`PublicProfileCache::get`].
#[derive(Debug)]
pub struct Found {
    profile: PublicProfile,
    /// The row's version; `None` when there is no row, which is then not stored.
    version: Option<i64>,
}

impl Found {
    /// A stored user at `version`, answering `profile`.
    pub fn stored(version: i64, profile: PublicProfile) -> Self {
        Self {
            profile,
            version: Some(version),
        }
    }

    /// No such user.
    pub fn missing() -> Self {
        Self {
            profile: PublicProfile::NotFound,
            version: None,
        }
    }
}

struct Entry {
    profile: PublicProfile,
    version: i64,
    /// When the database read this entry came from began: the TTL runs from there.
    read_at: Instant,
}

struct Inner {
    entries: HashMap<UserId, Entry>,
    /// Moves on every invalidation; a fill stores its result only if it has not moved since the
    /// fill began.
    epoch: u64,
    /// Subscribed to the account events: only then can entries be kept current.
    following: bool,
}

/// A fill in progress: the epoch and time at which it began.
struct Fill {
    epoch: u64,
    started: Instant,
}

/// The public-profile cache of one replica.
pub struct PublicProfileCache {
    /// Zero: the cache is off.
    ttl: Duration,
    max_entries: usize,
    bus: Arc<dyn EventBus>,
    inner: Mutex<Inner>,
}

impl PublicProfileCache {
    /// A cache serving entries for `ttl` (zero turns it off), holding at most `max_entries`,
    /// kept current by the account events on `bus`. It serves nothing until
    /// [`Self::follow_events`] has subscribed.
    pub fn new(ttl: Duration, max_entries: usize, bus: Arc<dyn EventBus>) -> Self {
        Self {
            ttl,
            max_entries,
            bus,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                epoch: 0,
                following: false,
            }),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_entries > 0
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The answer for `id`: from memory when a current entry is held, else from `load` (a
    /// database read, started only after the fill has taken its epoch), which is then stored.
    pub async fn get<E, F, Fut>(&self, id: UserId, load: F) -> Result<PublicProfile, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Found, E>>,
    {
        let fill = match self.lookup(id) {
            Ok(hit) => return Ok(hit),
            Err(fill) => fill,
        };
        let found = load().await?;
        if let Some(fill) = fill {
            self.store(id, fill, &found);
        }
        Ok(found.profile)
    }

    /// A current entry, or the fill to begin (`None` when nothing may be stored now).
    fn lookup(&self, id: UserId) -> Result<PublicProfile, Option<Fill>> {
        if !self.enabled() {
            return Err(None);
        }
        // Events published while the bus is away are lost to this replica.
        if !self.bus.is_connected() {
            record_lookup(false);
            return Err(None);
        }
        let now = Instant::now();
        let inner = self.inner();
        if !inner.following {
            record_lookup(false);
            return Err(None);
        }
        if let Some(entry) = inner.entries.get(&id) {
            if now.duration_since(entry.read_at) < self.ttl {
                record_lookup(true);
                return Ok(entry.profile.clone());
            }
        }
        record_lookup(false);
        Err(Some(Fill {
            epoch: inner.epoch,
            started: now,
        }))
    }

    fn store(&self, id: UserId, fill: Fill, found: &Found) {
        let Some(version) = found.version else {
            return;
        };
        let mut inner = self.inner();
        if inner.epoch != fill.epoch {
            return;
        }
        if let Some(held) = inner.entries.get(&id) {
            // A concurrent fill that began later may have read a newer row already.
            if held.version > version {
                return;
            }
        } else {
            self.make_room(&mut inner.entries);
        }
        inner.entries.insert(
            id,
            Entry {
                profile: found.profile.clone(),
                version,
                read_at: fill.started,
            },
        );
        record_entries(inner.entries.len());
    }

    /// Makes room for one more entry: expired entries go first; if that frees less than a
    /// quarter of the room, half of the rest go too (whichever the table holds first, not
    /// ones a client chose), so the sweep runs at most once per `max_entries / 4` fills.
    fn make_room(&self, entries: &mut HashMap<UserId, Entry>) {
        if entries.len() < self.max_entries {
            return;
        }
        let now = Instant::now();
        entries.retain(|_, entry| now.duration_since(entry.read_at) < self.ttl);
        if entries.len() >= self.max_entries - self.max_entries / 4 {
            let mut keep = true;
            entries.retain(|_, _| {
                keep = !keep;
                keep
            });
        }
    }

    /// Drops `id` and stops fills in progress from storing what they read.
    pub fn invalidate(&self, id: UserId) {
        let mut inner = self.inner();
        inner.epoch += 1;
        if inner.entries.remove(&id).is_some() {
            record_entries(inner.entries.len());
        }
    }

    /// A change to `id` at `version` was committed (possibly elsewhere): drops an older entry.
    fn changed(&self, id: UserId, version: i64) {
        let mut inner = self.inner();
        inner.epoch += 1;
        if inner.entries.get(&id).is_some_and(|e| e.version < version) {
            inner.entries.remove(&id);
            record_entries(inner.entries.len());
        }
    }

    /// Drops every entry; `following` says whether new ones may be stored from now on.
    fn reset(&self, following: bool) {
        let mut inner = self.inner();
        inner.epoch += 1;
        inner.entries.clear();
        inner.following = following;
        record_entries(0);
    }

    /// Invalidates `id` when dropped. Taken before a write to `id`, it is dropped once the
    /// write has returned, before the response, and also when the request is abandoned
    /// during the write (which may have committed all the same).
    pub fn changing(&self, id: UserId) -> PendingChange<'_> {
        PendingChange { cache: self, id }
    }

    /// The answer held for `id` and still within the TTL, whether or not it may be served
    /// right now (for tests and tools).
    pub fn cached(&self, id: UserId) -> Option<PublicProfile> {
        let inner = self.inner();
        inner
            .entries
            .get(&id)
            .filter(|e| e.read_at.elapsed() < self.ttl)
            .map(|e| e.profile.clone())
    }
}

/// See [`PublicProfileCache::changing`].
#[must_use = "the entry is invalidated when this is dropped: hold it across the write"]
pub struct PendingChange<'a> {
    cache: &'a PublicProfileCache,
    id: UserId,
}

impl Drop for PendingChange<'_> {
    fn drop(&mut self) {
        self.cache.invalidate(self.id);
    }
}

fn record_lookup(hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("public_profile_cache_requests_total", "result" => result).increment(1);
}

fn record_entries(len: usize) {
    metrics::gauge!("public_profile_cache_entries").set(len as f64);
}

#[cfg(test)]
mod tests;
