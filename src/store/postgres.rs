//! The PostgreSQL [`KeyStore`] (feature `postgres`).

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::{KeyRecord, KeyStore, StoreFuture};
use crate::error::{Error, Escaped};
use crate::{Algorithm, PublicKey, VerificationKey};

/// The schema's versions in order; [`PostgresKeyStore::migrate`] applies
/// each once.
const MIGRATIONS: [(i32, &str); 2] = [
    (1, include_str!("../../migrations/0001_key_store.sql")),
    (2, include_str!("../../migrations/0002_guards.sql")),
];

/// Every version, for operators who apply the schema with their own tool.
const SCHEMA: &str = concat!(
    include_str!("../../migrations/0001_key_store.sql"),
    "\n",
    include_str!("../../migrations/0002_guards.sql"),
);

/// An arbitrary constant naming this crate's migration lock.
const MIGRATION_LOCK: i64 = 0x5350_4b53_0001;

/// A [`KeyStore`] on PostgreSQL, shared by every instance of a fleet.
///
/// The rules live in the database (`migrations/0001_key_store.sql`), so they
/// hold however many processes write at once: a trigger keeps each tenant's
/// count of active keys in the tenant's row, under that row's lock, and a
/// check constraint caps it at two; the primary key `(tenant, kid)` and rows
/// that are never deleted or rebound keep ids unique for ever; a retired
/// key keeps its row with who retired it and when.
///
/// Connections come from a pool (deadpool); each operation is bounded by a
/// timeout (5 s by default), and a database that cannot answer is
/// [`Error::Unavailable`]. Plain TCP without TLS: for TLS, build a pool with
/// your connector and use [`PostgresKeyStore::from_pool`].
///
/// ```no_run
/// # async fn run() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::store::{PostgresKeyStore, TenantKeys};
/// let store = PostgresKeyStore::connect("postgres://app@127.0.0.1:5432/keys").await?;
/// store.migrate().await?;
/// let keys = TenantKeys::new(Arc::new(store));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresKeyStore {
    pool: Pool,
    timeout: Duration,
}

impl PostgresKeyStore {
    /// A store on the database at `url` (`postgres://user[:password]@host:port/db`),
    /// with a pool of up to 16 connections. Connects lazily.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a URL that does not parse.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Config(format!("the PostgreSQL URL does not parse: {e}")))?;
        config.connect_timeout(Duration::from_secs(5));
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| Error::Config(format!("the PostgreSQL pool could not be built: {e}")))?;
        Ok(Self::from_pool(pool))
    }

    /// A store on connections from `pool`.
    pub fn from_pool(pool: Pool) -> Self {
        PostgresKeyStore {
            pool,
            timeout: Duration::from_secs(5),
        }
    }

    /// Bounds each operation (waiting for a connection included) by `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The schema this crate ships, as SQL, for those who apply migrations
    /// with their own tool.
    pub fn schema_sql() -> &'static str {
        SCHEMA
    }

    /// Creates the schema if this database does not have it yet. Safe to
    /// call from every instance at start-up: concurrent callers wait on an
    /// advisory lock, and a version table records what was applied.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the database cannot answer or refuses.
    pub async fn migrate(&self) -> Result<(), Error> {
        self.bounded(async {
            let mut client = self.pool.get().await.map_err(unavailable)?;
            let tx = client.transaction().await.map_err(unavailable)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(unavailable)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS signed_payloads_migrations (
                     version integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await
            .map_err(unavailable)?;
            for (version, sql) in MIGRATIONS {
                let applied = tx
                    .query_opt(
                        "SELECT 1 FROM signed_payloads_migrations WHERE version = $1",
                        &[&version],
                    )
                    .await
                    .map_err(unavailable)?;
                if applied.is_none() {
                    tx.batch_execute(sql).await.map_err(unavailable)?;
                    tx.execute(
                        "INSERT INTO signed_payloads_migrations (version) VALUES ($1)",
                        &[&version],
                    )
                    .await
                    .map_err(unavailable)?;
                }
            }
            tx.commit().await.map_err(unavailable)
        })
        .await
    }

    /// Runs `operation` within the timeout.
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(unavailable(format!(
                    "no answer within {} ms",
                    self.timeout.as_millis()
                )))
            })
    }

    async fn active(&self, tenant: &str) -> Result<Vec<VerificationKey>, Error> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let rows = client
            .query(
                "SELECT kid, algorithm, public_key, expires_at FROM signed_payloads_keys
                  WHERE tenant = $1 AND retired_at IS NULL ORDER BY added_at, kid",
                &[&tenant],
            )
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let kid: String = row.get(0);
                let algorithm = algorithm(row.get(1))?;
                let key = PublicKey::from_der(row.get(2))?;
                let key = VerificationKey::new(kid, key, algorithm)?;
                Ok(match row.get::<_, Option<SystemTime>>(3) {
                    Some(at) => key.with_expiry(at),
                    None => key,
                })
            })
            .collect()
    }

    async fn add(&self, tenant: &str, key: &VerificationKey, actor: &str) -> Result<(), Error> {
        let public = key.public_key().ok_or_else(|| {
            Error::Config("the PostgreSQL key store keeps key material; this key has none".into())
        })?;
        let mut client = self.pool.get().await.map_err(unavailable)?;
        client
            .execute(
                "INSERT INTO signed_payloads_tenants (tenant) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&tenant],
            )
            .await
            .map_err(|e| refused(e, key.kid()))?;
        // Lock the tenant row for update before the insert's foreign-key
        // check takes a share lock on it: concurrent writers of one tenant
        // then queue on one lock, rather than PostgreSQL upgrading several
        // share lockers at once (seen once in 150 000 contended adds as
        // XX000 "new multixact has more than one updating member").
        let tx = client.transaction().await.map_err(unavailable)?;
        tx.execute(
            "SELECT 1 FROM signed_payloads_tenants WHERE tenant = $1 FOR UPDATE",
            &[&tenant],
        )
        .await
        .map_err(unavailable)?;
        let inserted = tx
            .execute(
                "INSERT INTO signed_payloads_keys
                     (tenant, kid, algorithm, public_key, thumbprint, expires_at, added_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &tenant,
                    &key.kid(),
                    &key.algorithm().as_str(),
                    &public.to_spki_der(),
                    &public.thumbprint(),
                    &key.expires_at(),
                    &actor,
                ],
            )
            .await;
        let inserted = match inserted {
            Ok(n) => tx.commit().await.map(|()| n),
            Err(e) => {
                drop(tx); // rolls back
                Err(e)
            }
        };
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                // The id exists: active (a duplicate) or retired (never reused).
                let active = client
                    .query_opt(
                        "SELECT 1 FROM signed_payloads_keys
                          WHERE tenant = $1 AND kid = $2 AND retired_at IS NULL",
                        &[&tenant, &key.kid()],
                    )
                    .await
                    .map_err(unavailable)?;
                Err(match active {
                    Some(_) => Error::DuplicateKeyId(Escaped::new(key.kid())),
                    None => Error::KeyIdReused(Escaped::new(key.kid())),
                })
            }
            Err(e) => Err(refused(e, key.kid())),
        }
    }

    async fn retire(&self, tenant: &str, kid: &str, actor: &str) -> Result<(), Error> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let retired = client
            .execute(
                "UPDATE signed_payloads_keys SET retired_at = now(), retired_by = $3
                  WHERE tenant = $1 AND kid = $2 AND retired_at IS NULL",
                &[&tenant, &kid, &actor],
            )
            .await
            .map_err(|e| refused(e, kid))?;
        if retired == 0 {
            return Err(Error::UnknownKeyId(Escaped::new(kid)));
        }
        Ok(())
    }

    async fn list(&self, tenant: &str) -> Result<Vec<KeyRecord>, Error> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let rows = client
            .query(
                "SELECT kid, algorithm, thumbprint, expires_at, added_at, added_by,
                        retired_at, retired_by
                   FROM signed_payloads_keys WHERE tenant = $1 ORDER BY added_at, kid",
                &[&tenant],
            )
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                Ok(KeyRecord {
                    kid: row.get(0),
                    algorithm: algorithm(row.get(1))?,
                    thumbprint: Some(row.get(2)),
                    expires_at: row.get(3),
                    added_at: row.get(4),
                    added_by: row.get(5),
                    retired_at: row.get(6),
                    retired_by: row.get(7),
                })
            })
            .collect()
    }
}

impl KeyStore for PostgresKeyStore {
    fn active_keys<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Vec<VerificationKey>> {
        Box::pin(self.bounded(self.active(tenant)))
    }

    fn add_key<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a VerificationKey,
        actor: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.bounded(self.add(tenant, key, actor)))
    }

    fn retire_key<'a>(
        &'a self,
        tenant: &'a str,
        kid: &'a str,
        actor: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.bounded(self.retire(tenant, kid, actor)))
    }

    fn list_keys<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, Vec<KeyRecord>> {
        Box::pin(self.bounded(self.list(tenant)))
    }
}

impl fmt::Debug for PostgresKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's configuration holds the password; show only its size.
        f.debug_struct("PostgresKeyStore")
            .field("pool_size", &self.pool.status().max_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn algorithm(name: &str) -> Result<Algorithm, Error> {
    name.parse()
}

/// Maps a database refusal of a write to the registry rule it enforces.
fn refused(e: tokio_postgres::Error, kid: &str) -> Error {
    let code = e.code().map(SqlState::code);
    match code {
        Some("23514") if constraint(&e) == Some("signed_payloads_key_limit") => Error::KeyLimit {
            limit: crate::MAX_ACTIVE_KEYS,
        },
        Some("SPK02") => Error::LastKey,
        Some("SPK03") => Error::KeyIdReused(Escaped::new(kid)),
        _ => unavailable(e),
    }
}

fn constraint(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error().and_then(|db| db.constraint())
}

fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    Error::Unavailable {
        what: "the PostgreSQL key store",
        source: source.into(),
    }
}
