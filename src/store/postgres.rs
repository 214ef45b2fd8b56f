//! The PostgreSQL [`KeyStore`] (feature `postgres`).

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{KeyRecord, KeyStore, StoreFuture};
use crate::error::{Error, Escaped};
use crate::tls::TrustAnchors;
use crate::{Algorithm, PublicKey, VerificationKey};

/// The schema's versions in order; [`PostgresKeyStore::migrate`] applies
/// each once.
const MIGRATIONS: [(i32, &str); 3] = [
    (1, include_str!("../../migrations/0001_key_store.sql")),
    (2, include_str!("../../migrations/0002_guards.sql")),
    (3, include_str!("../../migrations/0003_key_kinds.sql")),
];

/// Every version, for operators who apply the schema with their own tool.
const SCHEMA: &str = concat!(
    include_str!("../../migrations/0001_key_store.sql"),
    "\n",
    include_str!("../../migrations/0002_guards.sql"),
    "\n",
    include_str!("../../migrations/0003_key_kinds.sql"),
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
/// [`Error::Unavailable`]. TLS (rustls, verifying the server) when the URL
/// says `sslmode=verify-full` (see [`PostgresKeyStore::connect`]); connect
/// as an application role with [`PostgresKeyStore::grant_access`]'s rights,
/// not as the tables' owner or a superuser.
///
/// ```no_run
/// # async fn run() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::store::{PostgresKeyStore, TenantKeys};
/// let store = PostgresKeyStore::connect(
///     "postgres://signed_payloads_app@db.internal/keys?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
/// )
/// .await?;
/// store.migrate().await?; // only reads, once the owner has migrated
/// let keys = TenantKeys::new(Arc::new(store));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresKeyStore {
    pool: Pool,
    timeout: Duration,
}

impl PostgresKeyStore {
    /// A store on the database at `url`
    /// (`postgres://user[:password]@host:port/db[?sslmode=…&sslrootcert=…]`),
    /// with a pool of up to 16 connections. Connects lazily.
    ///
    /// TLS (rustls) as the URL's `sslmode` says, with libpq's names:
    /// `require`, `verify-ca` and `verify-full` all verify the server's
    /// certificate chain and its name (a key store is not worth reaching
    /// unverified), `prefer` does the same when the server offers TLS and
    /// falls back to plain TCP when it does not, and `disable` (or no
    /// `sslmode`) is plain TCP. `sslrootcert` is a PEM CA file, or `system`
    /// for the operating system's trust store (also the default).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a URL that does not parse, an `sslmode` other
    /// than those above, or a CA file that cannot be read or holds no
    /// certificate.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let (mut config, tls) = parse_url(url)?;
        config.connect_timeout(Duration::from_secs(5));
        let manager = Manager::from_config(
            config,
            tls,
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

    /// The pool the store takes connections from, for queries of your own
    /// (reports on the key history, say) over the same connections and TLS.
    pub fn pool(&self) -> &Pool {
        &self.pool
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

    /// Creates the schema if this database does not have it yet, or brings
    /// it up to the newest version. Concurrent callers wait on an advisory
    /// lock, and a version table records what was applied.
    ///
    /// Run it as the role that owns the schema (see
    /// [`PostgresKeyStore::grant_access`]); an instance connected as the
    /// application role may call it at start-up too: when every version is
    /// applied it only reads the version table.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when this role may not change the schema (connect
    /// as its owner), [`Error::Unavailable`] when the database cannot answer.
    pub async fn migrate(&self) -> Result<(), Error> {
        self.bounded(async {
            let mut client = self.pool.get().await.map_err(unavailable)?;
            if applied_version(&client).await? == Some(newest_version()) {
                return Ok(());
            }
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
            .map_err(not_owner)?;
            for (version, sql) in MIGRATIONS {
                let applied = tx
                    .query_opt(
                        "SELECT 1 FROM signed_payloads_migrations WHERE version = $1",
                        &[&version],
                    )
                    .await
                    .map_err(unavailable)?;
                if applied.is_none() {
                    tx.batch_execute(sql).await.map_err(not_owner)?;
                    tx.execute(
                        "INSERT INTO signed_payloads_migrations (version) VALUES ($1)",
                        &[&version],
                    )
                    .await
                    .map_err(not_owner)?;
                }
            }
            tx.commit().await.map_err(unavailable)
        })
        .await
    }

    /// Grants `role` what the store needs and nothing more: reading both
    /// tables and the version table, adding tenants and keys, retiring keys
    /// (`retired_at`, `retired_by`) and the tenant row lock and count the
    /// key trigger keeps. No `DELETE`, no `TRUNCATE`, no other column, no
    /// DDL. Run it as the schema's owner after [`PostgresKeyStore::migrate`];
    /// granting again changes nothing.
    ///
    /// The least-privilege setup (README, "Running as a fleet"): an owner
    /// role that is not a superuser runs `migrate` and this; the application
    /// connects as `role`, which is not a superuser either, so it can
    /// neither set `session_replication_role` nor alter or disable the
    /// triggers that keep the rules.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when this role may not grant on the tables (connect
    /// as their owner) or `role` does not exist, [`Error::Unavailable`] when
    /// the database cannot answer.
    pub async fn grant_access(&self, role: &str) -> Result<(), Error> {
        const GRANTS: [&str; 5] = [
            "GRANT SELECT, INSERT ON signed_payloads_tenants TO %I",
            "GRANT UPDATE (active_keys) ON signed_payloads_tenants TO %I",
            "GRANT SELECT, INSERT ON signed_payloads_keys TO %I",
            "GRANT UPDATE (retired_at, retired_by) ON signed_payloads_keys TO %I",
            "GRANT SELECT ON signed_payloads_migrations TO %I",
        ];
        self.bounded(async {
            let mut client = self.pool.get().await.map_err(unavailable)?;
            // Catalog rows are not updated concurrently ("tuple concurrently
            // updated"): grants wait on the migration lock.
            let client = client.transaction().await.map_err(unavailable)?;
            client
                .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(unavailable)?;
            // PostgreSQL only warns when a role grants what it may not, so
            // ask first whether this role owns the tables.
            let owner: Option<bool> = client
                .query_opt(
                    "SELECT bool_and(pg_has_role(current_user, relowner, 'MEMBER'))
                       FROM pg_class
                      WHERE oid IN (to_regclass('signed_payloads_tenants'),
                                    to_regclass('signed_payloads_keys'),
                                    to_regclass('signed_payloads_migrations'))
                     HAVING count(*) = 3",
                    &[],
                )
                .await
                .map_err(unavailable)?
                .map(|row| row.get(0));
            match owner {
                None => {
                    return Err(Error::Config(
                        "the key store's tables do not exist yet; run migrate() first".into(),
                    ));
                }
                Some(false) => {
                    return Err(Error::Config(
                        "this PostgreSQL role does not own the key store's tables \
                         (connect as the schema's owner)"
                            .into(),
                    ));
                }
                Some(true) => {}
            }
            for grant in GRANTS {
                // The server quotes the role name (format's %I).
                let sql: String = client
                    .query_one("SELECT format($1, $2::text)", &[&grant, &role])
                    .await
                    .map_err(unavailable)?
                    .get(0);
                client.batch_execute(&sql).await.map_err(|e| {
                    if e.code() == Some(&SqlState::UNDEFINED_OBJECT) {
                        Error::Config(format!(
                            "PostgreSQL has no role {}; create it first",
                            Escaped::new(role)
                        ))
                    } else {
                        not_owner(e)
                    }
                })?;
            }
            client.commit().await.map_err(unavailable)
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
                "SELECT kid, algorithm, public_key, expires_at, key_kind FROM signed_payloads_keys
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
                let stored_kind: &str = row.get(4);
                if key.kind().as_str() != stored_kind {
                    return Err(Error::Config(format!(
                        "the key store row of key {} says {}, but its key is {}",
                        Escaped::new(&kid),
                        Escaped::new(stored_kind),
                        key.kind()
                    )));
                }
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
                     (tenant, kid, algorithm, public_key, thumbprint, expires_at, added_by,
                      key_kind)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &tenant,
                    &key.kid(),
                    &key.algorithm().as_str(),
                    &public.to_spki_der(),
                    &public.thumbprint(),
                    &key.expires_at(),
                    &actor,
                    &public.kind().as_str(),
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

/// The connection settings and the TLS connector a URL asks for. The TLS
/// settings tokio-postgres does not know (`verify-ca`, `verify-full`,
/// `sslrootcert`) are taken out of the URL first.
fn parse_url(url: &str) -> Result<(tokio_postgres::Config, MakeRustlsConnect), Error> {
    let bad =
        |e: &dyn fmt::Display| Error::Config(format!("the PostgreSQL URL does not parse: {e}"));
    let mut parsed = url::Url::parse(url).map_err(|e| bad(&e))?;
    let (mut mode, mut anchors) = (None, TrustAnchors::System);
    let mut rest = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "sslmode" => mode = Some(value.into_owned()),
            "sslrootcert" if value == "system" => anchors = TrustAnchors::System,
            "sslrootcert" => anchors = TrustAnchors::from_file(&value, "sslrootcert")?,
            _ => rest.push((key.into_owned(), value.into_owned())),
        }
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(&rest);
    }
    let mut config: tokio_postgres::Config = parsed.as_str().parse().map_err(|e| bad(&e))?;
    let mode = match mode.as_deref() {
        None | Some("disable") => SslMode::Disable,
        Some("prefer") => SslMode::Prefer,
        Some("require" | "verify-ca" | "verify-full") => SslMode::Require,
        Some(other) => {
            return Err(Error::Config(format!(
                "sslmode {} is not supported (disable, prefer, require, verify-ca, verify-full)",
                Escaped::new(other)
            )));
        }
    };
    config.ssl_mode(mode);
    // No trust store is read for a connection that never uses TLS.
    let anchors = if mode == SslMode::Disable {
        TrustAnchors::Nothing
    } else {
        anchors
    };
    Ok((config, MakeRustlsConnect::new(anchors.client_config()?)))
}

/// The newest schema version this crate knows.
fn newest_version() -> i32 {
    MIGRATIONS[MIGRATIONS.len() - 1].0
}

/// The newest version applied to this database, or `None` before the first.
async fn applied_version(client: &tokio_postgres::Client) -> Result<Option<i32>, Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('signed_payloads_migrations') IS NOT NULL",
            &[],
        )
        .await
        .map_err(unavailable)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_one("SELECT max(version) FROM signed_payloads_migrations", &[])
        .await
        .map_err(not_owner)?;
    Ok(row.get(0))
}

/// A write the role may not make: the caller connected as the wrong role.
fn not_owner(e: tokio_postgres::Error) -> Error {
    if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
        Error::Config(format!(
            "this PostgreSQL role may not change the key store's schema or grants              (connect as the schema's owner): {}",
            e.as_db_error()
                .map_or("permission denied", |db| db.message())
        ))
    } else {
        unavailable(e)
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

/// The database (or the way to it) failed; the message carries every cause.
fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    let source: Box<dyn std::error::Error + Send + Sync + 'static> = source.into();
    Error::Unavailable {
        what: "the PostgreSQL key store",
        source: crate::error::with_causes(&*source).into(),
    }
}
