//! The per-tenant key cache verifiers read through.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::KeyStore;
use crate::error::{Error, Escaped};
use crate::{AsyncKeySource, KeySet, KeySetFuture};

/// Each tenant's active keys as a [`KeySet`], fetched from a [`KeyStore`]
/// and kept for `ttl`: the [`AsyncKeySource`] a
/// [`RequestVerifier`](crate::request::RequestVerifier) serving many
/// tenants reads, scoped by tenant id.
///
/// A rotation made by any instance is seen by every instance within `ttl`
/// (call [`TenantKeys::invalidate`] after a local write to see it at once).
/// While an entry is fresh no store call is made; once stale, the next
/// lookup asks the store, and if the store cannot answer the lookup fails
/// with [`Error::Unavailable`]: stale keys are not served past `ttl`, since
/// a retired key must stop verifying. A tenant with no active key is
/// [`Error::UnknownTenant`], and that answer is cached too, so a flood of
/// made-up tenant ids costs one store query per id per `ttl`; at most
/// `capacity` tenants are cached (the least recently fetched are dropped).
///
/// Requests that miss one tenant together make one store query; the others
/// wait for its answer. With [`TenantKeys::with_refresh_grace`] they are
/// answered from the expired entry instead while that query is in flight,
/// for at most the grace past `ttl`; a query that fails drops the entry, so
/// nothing expired is served while the store is down.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use signed_payloads::{Algorithm, VerificationKey};
/// use signed_payloads::store::{KeyStore, MemoryKeyStore, TenantKeys};
/// let store = Arc::new(MemoryKeyStore::new());
/// let pem = include_str!("../../tests/data/keys/rsa2048.spki.pem");
/// store.add_key("program-1", &VerificationKey::from_pem("k1", pem, Algorithm::RS256)?, "ops").await?;
///
/// let keys = TenantKeys::new(store).with_ttl(Duration::from_secs(5));
/// assert_eq!(keys.key_set("program-1").await?.key_ids().collect::<Vec<_>>(), ["k1"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TenantKeys {
    store: Arc<dyn KeyStore>,
    ttl: Duration,
    grace: Duration,
    capacity: usize,
    cache: Mutex<Cache>,
}

/// The cached entries and the order they were fetched in, oldest first.
#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    order: VecDeque<(String, Instant)>,
    /// One gate per tenant being fetched: concurrent misses wait for the
    /// one query instead of each querying the store.
    fetching: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// `None`: the tenant had no active key.
    keys: Option<Arc<KeySet>>,
    fetched: Instant,
}

impl TenantKeys {
    /// Reads `store`, caching each tenant's keys for 5 s, at most 10 000 tenants.
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        TenantKeys {
            store,
            ttl: Duration::from_secs(5),
            grace: Duration::ZERO,
            capacity: 10_000,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// How long a tenant's keys are used before the store is asked again:
    /// the longest a retired key keeps verifying on another instance.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// While one request refreshes an expired entry, answers the others
    /// from it for up to `grace` past the TTL instead of making them wait
    /// (0, the default: they wait). A retired key may then verify for up to
    /// `ttl + grace` on another instance. If the refresh fails the entry is
    /// dropped, so a store that is down is never papered over.
    #[must_use]
    pub fn with_refresh_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The most tenants cached at once (at least 1).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The store behind the cache.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    /// Forgets `tenant`'s cached keys, so the next lookup asks the store.
    pub fn invalidate(&self, tenant: &str) {
        self.lock().entries.remove(tenant);
    }

    /// `tenant`'s active keys, from the cache while fresh, else from the store.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTenant`] when the tenant has no active key,
    /// [`Error::Unavailable`] when the store cannot answer, and a store's
    /// keys that break the key-set rules ([`Error::KeyLimit`], ...) are
    /// refused as they are.
    pub async fn key_set(&self, tenant: &str) -> Result<Arc<KeySet>, Error> {
        if let Some(fresh) = self.fresh(tenant) {
            return fresh;
        }
        // Coalesce: one query per tenant per miss, however many requests
        // missed together; the others wait for it and read its answer, or,
        // within the grace, answer from the expired entry meanwhile.
        let gate = Gate::join(self, tenant);
        let _turn = match gate.gate.try_lock() {
            Ok(turn) => turn,
            Err(_) => {
                if let Some(recent) = self.cached_within(tenant, self.ttl + self.grace) {
                    return recent;
                }
                gate.gate.lock().await
            }
        };
        match self.fresh(tenant) {
            Some(fresh) => fresh,
            None => self.fetch(tenant).await,
        }
    }

    /// The cached answer for `tenant` while it is fresh.
    fn fresh(&self, tenant: &str) -> Option<Result<Arc<KeySet>, Error>> {
        self.cached_within(tenant, self.ttl)
    }

    /// The cached answer for `tenant` if it was fetched less than `age` ago.
    fn cached_within(&self, tenant: &str, age: Duration) -> Option<Result<Arc<KeySet>, Error>> {
        let cache = self.lock();
        let entry = cache.entries.get(tenant)?;
        (entry.fetched.elapsed() < age).then(|| found(entry.keys.clone(), tenant))
    }

    /// Asks the store, and caches the answer; a failure drops the entry, so
    /// the grace never serves it while the store is down.
    async fn fetch(&self, tenant: &str) -> Result<Arc<KeySet>, Error> {
        match self.query(tenant).await {
            Ok(keys) => {
                self.insert(tenant, keys.clone());
                found(keys, tenant)
            }
            Err(e) => {
                self.invalidate(tenant);
                Err(e)
            }
        }
    }

    /// The store's answer for `tenant`: its key set, or `None` when it has
    /// no active key.
    async fn query(&self, tenant: &str) -> Result<Option<Arc<KeySet>>, Error> {
        let keys = self.store.active_keys(tenant).await?;
        if keys.is_empty() {
            return Ok(None);
        }
        // Building a key set re-checks the rules on what the store
        // returned: a store with three active keys is refused here.
        Ok(Some(Arc::new(KeySet::new(keys)?)))
    }

    /// Caches `tenant`'s keys; at capacity, drops the least recently
    /// fetched tenant first. O(1) amortized: made-up tenant ids cannot turn
    /// each lookup into a scan of the whole cache under the lock.
    fn insert(&self, tenant: &str, keys: Option<Arc<KeySet>>) {
        let mut cache = self.lock();
        let Cache { entries, order, .. } = &mut *cache;
        let fetched = Instant::now();
        if !entries.contains_key(tenant) {
            while entries.len() >= self.capacity {
                let Some((oldest, at)) = order.pop_front() else {
                    break;
                };
                // A record is stale once its tenant was fetched again.
                if entries.get(&oldest).is_some_and(|e| e.fetched == at) {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(tenant.to_owned(), Entry { keys, fetched });
        order.push_back((tenant.to_owned(), fetched));
        // Refetches leave stale records behind; sweep them once they
        // outnumber the live ones, so the queue stays within 2 x capacity.
        if order.len() > 2 * self.capacity.max(entries.len()) {
            order.retain(|(t, at)| entries.get(t).is_some_and(|e| e.fetched == *at));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // Entries are replaced whole; a panic cannot leave one half-written.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request's place at its tenant's fetch gate. Leaving it (done, or the
/// request's future dropped) removes the gate once nobody else holds it, so
/// made-up tenant ids leave nothing behind.
struct Gate<'a> {
    keys: &'a TenantKeys,
    tenant: &'a str,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Gate<'a> {
    fn join(keys: &'a TenantKeys, tenant: &'a str) -> Self {
        let gate = Arc::clone(keys.lock().fetching.entry(tenant.to_owned()).or_default());
        Gate { keys, tenant, gate }
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let mut cache = self.keys.lock();
        // The map's reference and this one: nobody else is at this gate.
        if Arc::strong_count(&self.gate) <= 2 {
            cache.fetching.remove(self.tenant);
        }
    }
}

fn found(keys: Option<Arc<KeySet>>, tenant: &str) -> Result<Arc<KeySet>, Error> {
    keys.ok_or_else(|| Error::UnknownTenant(Escaped::new(tenant)))
}

impl AsyncKeySource for TenantKeys {
    type Scope = str;

    fn key_set_async<'a>(&'a self, tenant: &'a str, _kid: Option<&'a str>) -> KeySetFuture<'a> {
        Box::pin(self.key_set(tenant))
    }
}

#[cfg(test)]
mod tests {
    // A test that meets an unexpected result should stop loudly.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::{KeyStore, MemoryKeyStore};
    use crate::{Algorithm, VerificationKey};

    async fn store_with(tenants: &[&str]) -> Arc<MemoryKeyStore> {
        let store = Arc::new(MemoryKeyStore::new());
        let pem = include_str!("../../tests/data/keys/rsa2048.spki.pem");
        let key = VerificationKey::from_pem("k1", pem, Algorithm::RS256).unwrap();
        for tenant in tenants {
            store.add_key(tenant, &key, "test").await.unwrap();
        }
        store
    }

    /// At capacity the least recently fetched tenant goes, and a refetch
    /// makes a tenant recent again.
    #[tokio::test]
    async fn evicts_the_least_recently_fetched() {
        let keys = TenantKeys::new(store_with(&["t1", "t2", "t3"]).await)
            .with_capacity(2)
            .with_ttl(Duration::from_secs(60));
        keys.key_set("t1").await.unwrap();
        keys.key_set("t2").await.unwrap();
        keys.invalidate("t1");
        keys.key_set("t1").await.unwrap();
        keys.key_set("t3").await.unwrap();
        let cache = keys.lock();
        let mut cached: Vec<&str> = cache.entries.keys().map(String::as_str).collect();
        cached.sort_unstable();
        assert_eq!(cached, ["t1", "t3"]);
    }

    /// Refetches leave stale records in the eviction queue; they are swept,
    /// so the queue stays within twice the capacity whatever arrives.
    #[tokio::test]
    async fn the_eviction_queue_stays_bounded() {
        let keys = TenantKeys::new(store_with(&["t1"]).await)
            .with_capacity(4)
            .with_ttl(Duration::ZERO);
        for i in 0..1_000 {
            keys.key_set("t1").await.unwrap();
            let _ = keys.key_set(&format!("made-up-{}", i % 7)).await;
            assert!(keys.lock().order.len() <= 8, "{}", keys.lock().order.len());
            assert!(keys.lock().entries.len() <= 4);
        }
    }
}
