//! The in-memory [`KeyStore`]: one [`KeyRegistry`] per tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{KeyRecord, KeyStore, StoreFuture};
use crate::error::Error;
use crate::{Clock, KeyRegistry, SystemClock, VerificationKey};

/// A [`KeyStore`] in this process's memory: the zero-setup default, and the
/// model the other stores follow. Each tenant's keys are a [`KeyRegistry`],
/// so its rules (two keys at most, ids never rebound) are the registry's.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, VerificationKey};
/// use signed_payloads::store::{KeyStore, MemoryKeyStore};
/// let store = MemoryKeyStore::new();
/// let pem = include_str!("../../tests/data/keys/rsa2048.spki.pem");
/// let key = VerificationKey::from_pem("k1", pem, Algorithm::RS256)?;
/// store.add_key("program-1", &key, "ops@example.com").await?;
/// assert_eq!(store.active_keys("program-1").await?.len(), 1);
/// assert!(store.active_keys("program-2").await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MemoryKeyStore {
    tenants: Mutex<HashMap<String, Tenant>>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
struct Tenant {
    registry: KeyRegistry,
    records: Vec<KeyRecord>,
}

impl Default for MemoryKeyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryKeyStore {
            tenants: Mutex::new(HashMap::new()),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for the recorded times.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn with_tenants<T>(&self, f: impl FnOnce(&mut HashMap<String, Tenant>) -> T) -> T {
        // Every change below is validated before anything is written, so a
        // panic cannot leave a tenant half-changed.
        f(&mut self.tenants.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn add(&self, tenant: &str, key: &VerificationKey, actor: &str) -> Result<(), Error> {
        let now = self.clock.now();
        self.with_tenants(|tenants| {
            match tenants.get_mut(tenant) {
                Some(entry) => {
                    // A retired id stays taken, whatever the material: the
                    // registry allows re-adding the same key, a store's
                    // history does not.
                    if entry
                        .records
                        .iter()
                        .any(|r| r.kid == key.kid() && !r.is_active())
                    {
                        return Err(Error::KeyIdReused(crate::Escaped::new(key.kid())));
                    }
                    entry.registry.add(key.clone())?;
                    entry.records.push(record(key, actor, now));
                }
                None => {
                    tenants.insert(
                        tenant.to_owned(),
                        Tenant {
                            registry: KeyRegistry::new(key.clone()),
                            records: vec![record(key, actor, now)],
                        },
                    );
                }
            }
            Ok(())
        })
    }

    fn retire(&self, tenant: &str, kid: &str, actor: &str) -> Result<(), Error> {
        let now = self.clock.now();
        self.with_tenants(|tenants| {
            let entry = tenants
                .get_mut(tenant)
                .ok_or_else(|| Error::UnknownKeyId(crate::Escaped::new(kid)))?;
            entry.registry.remove(kid)?;
            if let Some(record) = entry
                .records
                .iter_mut()
                .find(|r| r.kid == kid && r.is_active())
            {
                record.retired_at = Some(now);
                record.retired_by = Some(actor.to_owned());
            }
            Ok(())
        })
    }
}

fn record(key: &VerificationKey, actor: &str, now: std::time::SystemTime) -> KeyRecord {
    KeyRecord {
        kid: key.kid().to_owned(),
        algorithm: key.algorithm(),
        thumbprint: key.public_key().map(crate::PublicKey::thumbprint),
        expires_at: key.expires_at(),
        added_at: now,
        added_by: actor.to_owned(),
        retired_at: None,
        retired_by: None,
    }
}

impl KeyStore for MemoryKeyStore {
    fn active_keys<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Vec<VerificationKey>> {
        let keys = self.with_tenants(|tenants| {
            tenants
                .get(tenant)
                .map(|t| t.registry.snapshot().iter().cloned().collect())
                .unwrap_or_default()
        });
        Box::pin(std::future::ready(Ok(keys)))
    }

    fn add_key<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a VerificationKey,
        actor: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.add(tenant, key, actor)))
    }

    fn retire_key<'a>(
        &'a self,
        tenant: &'a str,
        kid: &'a str,
        actor: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.retire(tenant, kid, actor)))
    }

    fn list_keys<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Vec<KeyRecord>> {
        let records = self.with_tenants(|tenants| {
            tenants
                .get(tenant)
                .map(|t| t.records.clone())
                .unwrap_or_default()
        });
        Box::pin(std::future::ready(Ok(records)))
    }
}
