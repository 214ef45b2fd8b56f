//! Keys of many tenants, kept where a fleet can share them: the async
//! [`KeyStore`] trait, its in-memory and PostgreSQL implementations, and the
//! per-tenant cache verifiers read through.

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod tenant_keys;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

pub use memory::MemoryKeyStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresKeyStore;
pub use record::KeyRecord;
pub use tenant_keys::TenantKeys;

use crate::VerificationKey;
use crate::error::Error;

/// The future a [`KeyStore`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Where the verification keys of many tenants (card programs, say) live.
///
/// Every implementation keeps the rules of a [`KeyRegistry`](crate::KeyRegistry)
/// per tenant, also when several processes write at once:
/// - at most [`MAX_ACTIVE_KEYS`](crate::MAX_ACTIVE_KEYS) active keys
///   ([`Error::KeyLimit`]), and at least one once the tenant has any
///   ([`Error::LastKey`]);
/// - a `kid` is unique within its tenant and never bound to other key
///   material, even after retirement ([`Error::DuplicateKeyId`],
///   [`Error::KeyIdReused`]);
/// - retiring keeps the key's record: who added and retired it, and when.
///
/// Verifiers do not call the store per token: [`TenantKeys`] caches each
/// tenant's keys for a short, configurable time.
pub trait KeyStore: Debug + Send + Sync {
    /// The active keys of `tenant` with their algorithm bindings, oldest
    /// first; empty for an unknown tenant.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the store cannot answer.
    fn active_keys<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Vec<VerificationKey>>;

    /// Adds `key` to `tenant`'s active keys; `actor` is recorded as who did it.
    ///
    /// # Errors
    ///
    /// [`Error::KeyLimit`], [`Error::DuplicateKeyId`], [`Error::KeyIdReused`],
    /// [`Error::Unavailable`]; a store that keeps key material may refuse
    /// keys without it ([`VerificationKey::from_verifier`]).
    fn add_key<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a VerificationKey,
        actor: &'a str,
    ) -> StoreFuture<'a, ()>;

    /// Retires `tenant`'s active key `kid`; `actor` is recorded.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`] if it is not active, [`Error::LastKey`] if it is
    /// the tenant's only active key, [`Error::Unavailable`].
    fn retire_key<'a>(
        &'a self,
        tenant: &'a str,
        kid: &'a str,
        actor: &'a str,
    ) -> StoreFuture<'a, ()>;

    /// Every key `tenant` ever had, active and retired, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`].
    fn list_keys<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Vec<KeyRecord>>;
}
