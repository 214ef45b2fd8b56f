//! The fleet against real servers: PostgreSQL (`PostgresKeyStore`) and Redis
//! (`RedisNonceStore`) on 127.0.0.1, started by `scripts/services.sh start`,
//! which prints the two URLs to export. Without them these tests skip, and
//! say so once; with `SIGNED_PAYLOADS_REQUIRE_SERVICES=1` (set by .ci/run) a
//! missing URL is a failure instead.
#![cfg(all(feature = "postgres", feature = "redis"))]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::store::{KeyStore, PostgresKeyStore, TenantKeys};
use signed_payloads::{
    Algorithm, ClaimError, ClaimsPolicy, Error, KeyKind, KeyRegistry, KeySigner, PrivateKey,
    RedisNonceStore, VerificationKey,
};
use tokio::task::AbortHandle;

const POSTGRES_URL: &str = "SIGNED_PAYLOADS_POSTGRES_URL";
const REDIS_URL: &str = "SIGNED_PAYLOADS_REDIS_URL";
/// The schema owner's URL, for migrations and grants; scripts/services.sh
/// sets it. Without it the application URL is used for both.
const POSTGRES_OWNER_URL: &str = "SIGNED_PAYLOADS_POSTGRES_OWNER_URL";

fn owner_url(app: &str) -> String {
    match std::env::var(POSTGRES_OWNER_URL) {
        Ok(url) => url,
        Err(_) if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_SERVICES").is_some() => {
            panic!("SIGNED_PAYLOADS_REQUIRE_SERVICES is set but {POSTGRES_OWNER_URL} is not")
        }
        Err(_) => app.to_owned(),
    }
}

/// The two URLs, or `None` (after saying so once) when they are not set.
fn services() -> Option<(String, String)> {
    match (std::env::var(POSTGRES_URL), std::env::var(REDIS_URL)) {
        (Ok(pg), Ok(redis)) => Some((pg, redis)),
        _ if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_SERVICES").is_some() => {
            panic!(
                "SIGNED_PAYLOADS_REQUIRE_SERVICES is set but {POSTGRES_URL} or {REDIS_URL} is not"
            )
        }
        _ => {
            static SAY: Once = Once::new();
            SAY.call_once(|| {
                // Straight to stderr: the test harness captures print macros.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nskipped: the PostgreSQL and Redis tests in tests/services.rs ({POSTGRES_URL} and \
                     {REDIS_URL} are not set). To run them:\n    eval \"$(scripts/services.sh start)\" \
                     && cargo test --all-features --test services\n"
                );
            });
            None
        }
    }
}

const A: &str = "rsa2048.pkcs8.pem";
const B: &str = "rsa2048-second.pkcs8.pem";

fn key(file: &str) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read_to_string(format!("tests/data/keys/{file}")).unwrap())
        .unwrap()
}

fn public(kid: &str, file: &str) -> VerificationKey {
    VerificationKey::new(kid, key(file).public_key().clone(), Algorithm::RS256).unwrap()
}

fn request_signer(kid: &str, file: &str) -> RequestSigner {
    RequestSigner::new(Arc::new(
        KeySigner::new(key(file), Algorithm::RS256)
            .unwrap()
            .with_key_id(kid),
    ))
}

/// Two instances of a fleet's request verifier: one on `store`, one on its
/// own connection to the same PostgreSQL, each with its own Redis
/// connection under one `prefix`.
async fn two_instances(
    pg: &str,
    redis: &str,
    store: Arc<PostgresKeyStore>,
    prefix: &str,
    policy: ClaimsPolicy,
) -> (
    RequestVerifier<TenantKeys, RedisNonceStore>,
    RequestVerifier<TenantKeys, RedisNonceStore>,
) {
    let instance = |store: Arc<PostgresKeyStore>, nonces: RedisNonceStore| {
        RequestVerifier::new(Arc::new(TenantKeys::new(store)))
            .with_claims(policy.clone())
            .with_replay_store(Arc::new(nonces))
    };
    let one = instance(store, nonce_store(redis, prefix).await);
    let two = instance(
        Arc::new(postgres(pg).await),
        nonce_store(redis, prefix).await,
    );
    (one, two)
}

/// The CA (PEM file) that issued the shared Redis's certificate, when it
/// speaks TLS (scripts/services.sh sets it).
const REDIS_CA: &str = "SIGNED_PAYLOADS_REDIS_CA";

/// Connects to the Redis at `url`, verifying it with the CA in
/// `SIGNED_PAYLOADS_REDIS_CA` when that is set.
async fn redis_connect(url: &str, timeout: Duration) -> Result<RedisNonceStore, Error> {
    match std::env::var(REDIS_CA) {
        Ok(ca) if url.starts_with("rediss://") => {
            RedisNonceStore::connect_with_ca_pem(url, &std::fs::read(ca).unwrap(), timeout).await
        }
        _ => RedisNonceStore::connect_with_timeout(url, timeout).await,
    }
}

/// A Redis nonce store under `prefix`, declared new (as a deployment does
/// once) so that its first check is not taken for a loss of records.
async fn nonce_store(url: &str, prefix: &str) -> RedisNonceStore {
    let store = redis_connect(url, Duration::from_secs(2))
        .await
        .unwrap()
        .with_prefix(prefix);
    store.declare_new().await.unwrap();
    store
}

/// A tenant name no other run or test uses.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A store connected as the application at `url`, after the schema's owner
/// has migrated and granted the application its role's rights (as a
/// deployment does once; both are idempotent).
async fn postgres(url: &str) -> PostgresKeyStore {
    let owner = owner_url(url);
    if owner != url {
        let owner = PostgresKeyStore::connect(&owner).await.unwrap();
        owner.migrate().await.unwrap();
        let role = url::Url::parse(url).unwrap().username().to_owned();
        owner.grant_access(&role).await.unwrap();
    }
    let store = PostgresKeyStore::connect(url).await.unwrap();
    // Up to date, so the application role may call it too: it only reads.
    store.migrate().await.unwrap();
    store
}

/// A plain SQL session at `url`, as a person at psql would have (over the
/// store's own pool, so over the same TLS).
async fn psql(url: &str) -> deadpool_postgres::Object {
    let store = PostgresKeyStore::connect(url).await.unwrap();
    store.pool().get().await.unwrap()
}

#[tokio::test]
async fn postgres_store_keeps_the_rules_and_the_history() {
    let Some((pg, _)) = services() else { return };
    let store = postgres(&pg).await;
    // Migrating again (every instance does at start-up) changes nothing.
    store.migrate().await.unwrap();
    let t = unique("rules");
    assert!(store.active_keys(&t).await.unwrap().is_empty());
    store.add_key(&t, &public("k1", A), "alice").await.unwrap();
    assert!(matches!(
        store.add_key(&t, &public("k1", B), "alice").await,
        Err(Error::DuplicateKeyId(_))
    ));
    store.add_key(&t, &public("k2", B), "alice").await.unwrap();
    assert!(matches!(
        store.add_key(&t, &public("k3", A), "alice").await,
        Err(Error::KeyLimit { limit: 2 })
    ));
    store.retire_key(&t, "k1", "bob").await.unwrap();
    assert!(matches!(
        store.retire_key(&t, "k2", "bob").await,
        Err(Error::LastKey)
    ));
    assert!(matches!(
        store.retire_key(&t, "k1", "bob").await,
        Err(Error::UnknownKeyId(_))
    ));
    for file in [A, B] {
        assert!(matches!(
            store.add_key(&t, &public("k1", file), "alice").await,
            Err(Error::KeyIdReused(_))
        ));
    }
    let active = store.active_keys(&t).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].kid(), "k2");
    assert_eq!(active[0].algorithm(), Algorithm::RS256);
    assert_eq!(
        active[0].public_key().unwrap().thumbprint(),
        key(B).public_key().thumbprint()
    );
    let history = store.list_keys(&t).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].kid, "k1");
    assert_eq!(history[0].added_by, "alice");
    assert_eq!(history[0].retired_by.as_deref(), Some("bob"));
    assert!(history[0].retired_at.unwrap() >= history[0].added_at);
    assert!(history[1].is_active());

    // Keys with an expiry keep it.
    let t2 = unique("expiry");
    let expires = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    store
        .add_key(&t2, &public("e", A).with_expiry(expires), "ops")
        .await
        .unwrap();
    assert_eq!(
        store.active_keys(&t2).await.unwrap()[0].expires_at(),
        Some(expires)
    );
}

#[tokio::test]
async fn the_database_itself_refuses_rule_breaking_writes() {
    let Some((pg, _)) = services() else { return };
    let store = postgres(&pg).await;
    let t = unique("sql");
    store.add_key(&t, &public("k1", A), "ops").await.unwrap();
    // As the tables' owner, who has every privilege on them: the schema
    // itself refuses.
    let client = psql(&owner_url(&pg)).await;
    let code = |e: tokio_postgres::Error| e.code().unwrap().code().to_owned();
    // Rebinding a kid, deleting history, a third active key: refused by the
    // schema, whoever writes.
    let e = client
        .execute(
            "UPDATE signed_payloads_keys SET public_key = '\\x00' WHERE tenant = $1",
            &[&t],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "SPK03");
    let e = client
        .execute("DELETE FROM signed_payloads_keys WHERE tenant = $1", &[&t])
        .await
        .unwrap_err();
    assert_eq!(code(e), "SPK03");
    let insert = "INSERT INTO signed_payloads_keys (tenant, kid, algorithm, public_key, thumbprint, added_by, key_kind)
                  VALUES ($1, $2, 'RS256', '\\x00', 'x', 'psql', 'RSA')";
    client.execute(insert, &[&t, &"k2"]).await.unwrap();
    let e = client.execute(insert, &[&t, &"k3"]).await.unwrap_err();
    assert_eq!(code(e), "23514", "the key-limit check constraint");

    // The review's bypasses, each refused (schema version 2).
    for table in ["signed_payloads_keys", "signed_payloads_tenants"] {
        let e = client
            .batch_execute(&format!("TRUNCATE {table} CASCADE"))
            .await
            .unwrap_err();
        assert_eq!(code(e), "SPK03", "TRUNCATE {table}");
    }
    // Resetting the count to let two more keys in.
    let e = client
        .execute(
            "UPDATE signed_payloads_tenants SET active_keys = 0 WHERE tenant = $1",
            &[&t],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "SPK03", "the count is the key table's");
    // A tenant row claiming keys it does not have.
    let ghost = unique("ghost");
    let e = client
        .execute(
            "INSERT INTO signed_payloads_tenants (tenant, active_keys) VALUES ($1, 2)",
            &[&ghost],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "SPK03");
    // A key retired before it was added.
    let e = client
        .execute(
            "INSERT INTO signed_payloads_keys (tenant, kid, algorithm, public_key, thumbprint, added_by, added_at, retired_at, retired_by, key_kind)
             VALUES ($1, 'old', 'RS256', '\\x00', 'x', 'psql', now(), now() - interval '1 day', 'psql', 'RSA')",
            &[&t],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "23514", "retired_at >= added_at");
    // The store's own writes still work.
    store.retire_key(&t, "k2", "ops").await.unwrap();
    store.add_key(&t, &public("k4", B), "ops").await.unwrap();
}

/// The application's role (scripts/services.sh makes it; README shows the
/// setup) cannot get round the rules either: what the schema would refuse
/// anyway it has no privilege for, and the ways around triggers (being a
/// superuser, `session_replication_role`, altering or dropping them, a
/// trigger of its own on a temporary table) are closed to it.
#[tokio::test]
async fn the_application_role_has_no_way_round_the_rules() {
    let Some((pg, _)) = services() else { return };
    if owner_url(&pg) == pg {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {POSTGRES_OWNER_URL} is not set, so there is no separate application role"
        );
        return;
    }
    let store = postgres(&pg).await;
    let t = unique("app-role");
    store.add_key(&t, &public("k1", A), "ops").await.unwrap();
    store.add_key(&t, &public("k2", B), "ops").await.unwrap();
    let app = psql(&pg).await;
    let code = |e: tokio_postgres::Error| e.code().unwrap().code().to_owned();
    const DENIED: &str = "42501";

    let superuser: bool = app
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!superuser, "the application role is not a superuser");
    for (sql, why) in [
        ("TRUNCATE signed_payloads_keys", "no TRUNCATE"),
        ("TRUNCATE signed_payloads_tenants CASCADE", "no TRUNCATE"),
        ("DELETE FROM signed_payloads_keys", "no DELETE"),
        ("DELETE FROM signed_payloads_tenants", "no DELETE"),
        (
            "UPDATE signed_payloads_keys SET public_key = '\\x00'",
            "key columns",
        ),
        (
            "UPDATE signed_payloads_keys SET added_at = now()",
            "history columns",
        ),
        ("SET session_replication_role = replica", "triggers stay on"),
        (
            "ALTER TABLE signed_payloads_keys DISABLE TRIGGER ALL",
            "not the owner",
        ),
        (
            "DROP TRIGGER signed_payloads_keys_guard ON signed_payloads_keys",
            "not the owner",
        ),
        (
            "ALTER TABLE signed_payloads_tenants DROP CONSTRAINT signed_payloads_key_limit",
            "not the owner",
        ),
        ("CREATE TABLE mine (x int)", "no DDL"),
        ("CREATE TEMP TABLE mine (x int)", "no temporary tables"),
        ("DELETE FROM signed_payloads_migrations", "no DELETE"),
    ] {
        let e = app.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(e), DENIED, "{sql}: {why}");
    }
    // What it may write, the triggers still judge.
    let e = app
        .execute(
            "UPDATE signed_payloads_tenants SET active_keys = 0 WHERE tenant = $1",
            &[&t],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "SPK03", "the count is the key table's");
    let e = app
        .execute(
            "INSERT INTO signed_payloads_tenants (tenant, active_keys) VALUES ($1, 2)",
            &[&unique("ghost")],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "SPK03", "a tenant claiming keys it lacks");
    let insert = "INSERT INTO signed_payloads_keys (tenant, kid, algorithm, public_key, thumbprint, added_by, key_kind)
                  VALUES ($1, 'k3', 'RS256', '\\x00', 'x', 'psql', 'RSA')";
    let e = app.execute(insert, &[&t]).await.unwrap_err();
    assert_eq!(code(e), "23514", "a third active key");
    let e = app
        .execute(
            "UPDATE signed_payloads_keys SET retired_at = added_at - interval '1 day', retired_by = 'psql'
              WHERE tenant = $1 AND kid = 'k1'",
            &[&t],
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "23514", "retired before it was added");
    // Its own rights are enough for the store, and not for the schema.
    store.retire_key(&t, "k1", "ops").await.unwrap();
    store.add_key(&t, &public("k3", A), "ops").await.unwrap();
    assert_eq!(store.active_keys(&t).await.unwrap().len(), 2);
    let e = PostgresKeyStore::connect(&pg)
        .await
        .unwrap()
        .grant_access("signed_payloads_app")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("connect as the schema's owner")),
        "{e}"
    );
}

/// Adds keys to `tenants` from many tasks at once; returns how many adds
/// succeeded. Every failure must be a rule, never anything else.
async fn race(store: Arc<PostgresKeyStore>, tenants: &[String], tag: &str) -> usize {
    let mut tasks = Vec::new();
    for tenant in tenants {
        for i in 0..4 {
            let (s, t) = (store.clone(), tenant.clone());
            let kid = format!("{tag}-{i}");
            tasks.push(tokio::spawn(async move {
                s.add_key(&t, &public(&kid, A), "racer").await
            }));
            // Everyone also wants the id "same", with their own material.
            let (store, tenant) = (store.clone(), tenant.clone());
            let file = if i % 2 == 0 { A } else { B };
            tasks.push(tokio::spawn(async move {
                store.add_key(&tenant, &public("same", file), "racer").await
            }));
        }
    }
    let mut added = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => added += 1,
            Err(Error::KeyLimit { .. } | Error::DuplicateKeyId(_) | Error::KeyIdReused(_)) => {}
            Err(e) => panic!("an add failed for another reason than a rule: {e}"),
        }
    }
    added
}

/// Each tenant ends with exactly two active keys, no retired rows, and the
/// id "same" at most once.
async fn assert_two_keys_each(store: &PostgresKeyStore, tenants: &[String]) {
    for tenant in tenants {
        let history = store.list_keys(tenant).await.unwrap();
        assert_eq!(history.len(), 2, "{tenant}: {history:?}");
        assert!(history.iter().all(|r| r.is_active()));
        assert!(history.iter().filter(|r| r.kid == "same").count() <= 1);
        assert_eq!(store.active_keys(tenant).await.unwrap().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_never_get_a_third_key() {
    let Some((pg, _)) = services() else { return };
    let store = Arc::new(postgres(&pg).await);
    let tenants: Vec<String> = (0..10).map(|i| unique(&format!("tasks-{i}"))).collect();
    let added = race(store.clone(), &tenants, "task").await;
    assert_eq!(added, 2 * tenants.len());
    assert_two_keys_each(&store, &tenants).await;

    // Two retirements racing on a two-key tenant: one wins, one is LastKey.
    let mut outcomes = Vec::new();
    for tenant in &tenants {
        let kids: Vec<String> = store
            .active_keys(tenant)
            .await
            .unwrap()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect();
        let tasks: Vec<_> = kids
            .into_iter()
            .map(|kid| {
                let (store, tenant) = (store.clone(), tenant.clone());
                tokio::spawn(async move { store.retire_key(&tenant, &kid, "racer").await })
            })
            .collect();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        assert_eq!(store.active_keys(tenant).await.unwrap().len(), 1);
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), tenants.len());
    assert!(
        outcomes
            .iter()
            .all(|o| o.is_ok() || matches!(o, Err(Error::LastKey)))
    );
}

/// One side of `two_processes_never_get_a_third_key`: run by the parent as
/// a child process, with the tenants' prefix and a start instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "run as a child process by two_processes_never_get_a_third_key"]
async fn racing_process() {
    let (Ok(prefix), Ok(start)) = (
        std::env::var("SP_RACE_PREFIX"),
        std::env::var("SP_RACE_START_MS"),
    ) else {
        return;
    };
    let (pg, _) = services().unwrap();
    let store = Arc::new(postgres(&pg).await);
    let tenants: Vec<String> = (0..10).map(|i| format!("{prefix}-{i}")).collect();
    // Both processes start adding at the same instant.
    let start = UNIX_EPOCH + Duration::from_millis(start.parse().unwrap());
    if let Ok(wait) = start.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let added = race(store, &tenants, &format!("pid{}", std::process::id())).await;
    println!("added {added}");
}

#[tokio::test]
async fn two_processes_never_get_a_third_key() {
    let Some((pg, _)) = services() else { return };
    let store = postgres(&pg).await;
    let prefix = unique("processes");
    let start = SystemTime::now() + Duration::from_millis(1500);
    let start_ms = start.duration_since(UNIX_EPOCH).unwrap().as_millis();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "racing_process", "--nocapture"])
                .env("SP_RACE_PREFIX", &prefix)
                .env("SP_RACE_START_MS", start_ms.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut added = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        added += stdout
            .lines()
            .find_map(|l| l.strip_prefix("added "))
            .unwrap_or_else(|| panic!("the child did not race: {stdout}"))
            .parse::<usize>()
            .unwrap();
    }
    let tenants: Vec<String> = (0..10).map(|i| format!("{prefix}-{i}")).collect();
    assert_eq!(
        added,
        2 * tenants.len(),
        "two adds per tenant, across both processes"
    );
    assert_two_keys_each(&store, &tenants).await;
}

#[tokio::test]
async fn a_rotation_on_one_instance_reaches_the_other_within_the_ttl() {
    let Some((pg, _)) = services() else { return };
    let tenant = unique("rotation");
    let ttl = Duration::from_millis(300);
    // Two instances: each with its own pool and cache.
    let first = Arc::new(postgres(&pg).await);
    let second = Arc::new(postgres(&pg).await);
    first
        .add_key(&tenant, &public("old", A), "ops")
        .await
        .unwrap();
    let one = RequestVerifier::new(Arc::new(TenantKeys::new(first.clone()).with_ttl(ttl)));
    let two = RequestVerifier::new(Arc::new(TenantKeys::new(second).with_ttl(ttl)));
    let old = request_signer("old", A).sign_json(b"{}").unwrap();
    let new = request_signer("new", B).sign_json(b"{}").unwrap();
    one.verify_bytes_for(&tenant, &old).await.unwrap();
    two.verify_bytes_for(&tenant, &old).await.unwrap();

    // The first instance rotates.
    first
        .add_key(&tenant, &public("new", B), "ops")
        .await
        .unwrap();
    first.retire_key(&tenant, "old", "ops").await.unwrap();
    one.keys().invalidate(&tenant);
    one.verify_bytes_for(&tenant, &new).await.unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    two.verify_bytes_for(&tenant, &new).await.unwrap();
    assert!(matches!(
        two.verify_bytes_for(&tenant, &old).await,
        Err(Error::UnknownKeyId(_))
    ));
}

#[tokio::test]
async fn a_response_replayed_to_another_instance_is_refused() {
    let Some((_, redis)) = services() else { return };
    let key = key(A);
    let registry = Arc::new(KeyRegistry::new(
        VerificationKey::new("api", key.public_key().clone(), Algorithm::PS384).unwrap(),
    ));
    let signer = ResponseSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::PS384)
            .unwrap()
            .with_key_id("api"),
    ));
    let window = Duration::from_millis(1000);
    let instance = |store: RedisNonceStore| {
        ResponseVerifier::new(registry.clone()).with_replay_store(Arc::new(store), window)
    };
    // Both instances share one prefix (one fleet), each its own connection.
    let prefix = unique("fleet");
    let one = instance(nonce_store(&redis, &prefix).await);
    let two = instance(nonce_store(&redis, &prefix).await);
    let signed = signer.sign_headers(200, b"{}").unwrap();
    one.verify_headers_async(200, signed.iter(), b"{}")
        .await
        .unwrap();
    assert!(matches!(
        two.verify_headers_async(200, signed.iter(), b"{}").await,
        Err(Error::Replayed)
    ));
    assert!(matches!(
        one.verify_headers_async(200, signed.iter(), b"{}").await,
        Err(Error::Replayed)
    ));
    // Over Redis only the async methods exist: `two.verify_headers(..)`
    // does not compile, so no half-run sync attempt can leave a SET NX
    // behind to make the real attempt look like a replay.
    // After the window the nonce is forgotten; the signature is still good,
    // so the response verifies again (header mode carries no timestamp).
    tokio::time::sleep(window + Duration::from_millis(200)).await;
    two.verify_headers_async(200, signed.iter(), b"{}")
        .await
        .unwrap();
    // A fleet with another prefix does not see this one's nonces.
    let other = instance(nonce_store(&redis, &unique("responses")).await);
    let fresh = signer.sign_headers(200, b"{}").unwrap();
    one.verify_headers_async(200, fresh.iter(), b"{}")
        .await
        .unwrap();
    other
        .verify_headers_async(200, fresh.iter(), b"{}")
        .await
        .unwrap();
}

/// The review's bug: an earlier attempt at a fresh token (then a sync call
/// that polled once and dropped its Redis write) made the real attempt come
/// back `Replayed`. Now every attempt that fails before the replay check
/// (bad signature, unknown key, wrong tenant, expired) leaves Redis alone,
/// and the fresh token then verifies once.
#[tokio::test]
async fn failed_attempts_never_make_a_fresh_token_look_replayed() {
    let Some((pg, redis)) = services() else {
        return;
    };
    let tenant = unique("fresh");
    let store = Arc::new(postgres(&pg).await);
    store
        .add_key(&tenant, &public("k1", A), "ops")
        .await
        .unwrap();
    let verifier = RequestVerifier::new(Arc::new(TenantKeys::new(store)))
        .with_replay_store(Arc::new(nonce_store(&redis, &unique("fresh-nonces")).await));
    let exp = unix_now() + 60;
    let token = request_signer("k1", A)
        .sign_json(format!(r#"{{"jti":"fresh-1","exp":{exp}}}"#).as_bytes())
        .unwrap();
    let (head, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &signature[1..]);
    assert!(matches!(
        verifier.verify_bytes_for(&tenant, &tampered).await,
        Err(Error::BadSignature)
    ));
    assert!(matches!(
        verifier.verify_bytes_for("no-such-tenant", &token).await,
        Err(Error::UnknownTenant(_))
    ));
    verifier.verify_bytes_for(&tenant, &token).await.unwrap();
    assert!(matches!(
        verifier.verify_bytes_for(&tenant, &token).await,
        Err(Error::Replayed)
    ));
}

#[tokio::test]
async fn a_request_jti_replayed_to_another_instance_is_refused_until_it_expires() {
    let Some((pg, redis)) = services() else {
        return;
    };
    let tenant = unique("jti");
    let store = Arc::new(postgres(&pg).await);
    store
        .add_key(&tenant, &public("k1", A), "ops")
        .await
        .unwrap();
    let prefix = unique("jti-fleet");
    let policy = ClaimsPolicy::new().with_leeway(Duration::ZERO);
    let (one, two) = two_instances(&pg, &redis, store.clone(), &prefix, policy).await;
    let exp = unix_now() + 2;
    let token = request_signer("k1", A)
        .sign_json(format!(r#"{{"jti":"pay-1","exp":{exp}}}"#).as_bytes())
        .unwrap();
    one.verify_bytes_for(&tenant, &token).await.unwrap();
    assert!(matches!(
        two.verify_bytes_for(&tenant, &token).await,
        Err(Error::Replayed)
    ));
    // The same jti from another tenant is another request.
    let other = unique("jti-other");
    store
        .add_key(&other, &public("k1", A), "ops")
        .await
        .unwrap();
    two.verify_bytes_for(&other, &token).await.unwrap();

    // Once the window (until exp) has passed, Redis has forgotten the jti,
    // and the token is refused as expired instead: never accepted again.
    let wait = UNIX_EPOCH + Duration::from_secs(exp + 1);
    tokio::time::sleep(wait.duration_since(SystemTime::now()).unwrap_or_default()).await;
    assert!(matches!(
        two.verify_bytes_for(&tenant, &token).await,
        Err(Error::Claim(ClaimError::Expired))
    ));
}

/// A TCP relay to a server, which the test can cut: the server "goes down"
/// for everyone connected through it.
struct Relay {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Relay {
    async fn to(upstream: &str) -> Relay {
        let upstream: SocketAddr = upstream.parse().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(conn.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Relay { addr, tasks }
    }

    /// Stops accepting and drops every relayed connection.
    async fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `scheme://[user@]host:port/rest` → (`host:port`, a function putting another address in).
fn split_address(url: &str) -> (String, impl Fn(SocketAddr) -> String + '_) {
    let after_scheme = url.find("//").unwrap() + 2;
    let host_start = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |at| after_scheme + at + 1);
    let host_end = url[host_start..]
        .find('/')
        .map_or(url.len(), |slash| host_start + slash);
    (url[host_start..host_end].to_owned(), move |addr| {
        format!("{}{addr}{}", &url[..host_start], &url[host_end..])
    })
}

#[tokio::test]
async fn stores_going_down_mid_run_refuse_tokens_with_clear_errors() {
    let Some((pg, redis)) = services() else {
        return;
    };
    let (pg_addr, pg_via) = split_address(&pg);
    let (redis_addr, redis_via) = split_address(&redis);
    let pg_relay = Relay::to(&pg_addr).await;
    let redis_relay = Relay::to(&redis_addr).await;

    let tenant = unique("outage");
    let store = Arc::new(
        postgres(&pg_via(pg_relay.addr))
            .await
            .with_timeout(Duration::from_secs(2)),
    );
    store
        .add_key(&tenant, &public("k1", A), "ops")
        .await
        .unwrap();
    let nonces = redis_connect(&redis_via(redis_relay.addr), Duration::from_secs(1))
        .await
        .unwrap()
        .with_prefix(unique("outage"));
    nonces.declare_new().await.unwrap();
    let ttl = Duration::from_millis(200);
    let verifier = RequestVerifier::new(Arc::new(TenantKeys::new(store.clone()).with_ttl(ttl)))
        .with_replay_store(Arc::new(nonces));
    let token = |jti: &str| {
        request_signer("k1", A)
            .sign_json(format!(r#"{{"jti":"{jti}","exp":{}}}"#, unix_now() + 60).as_bytes())
            .unwrap()
    };
    verifier
        .verify_bytes_for(&tenant, &token("before"))
        .await
        .unwrap();

    // Redis goes down: a good, fresh token is refused, not waved through.
    redis_relay.cut().await;
    let e = verifier
        .verify_bytes_for(&tenant, &token("during-redis"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unavailable { what, .. } if what.contains("Redis")),
        "{e}"
    );

    // PostgreSQL goes down too: once the cached keys are older than the
    // TTL, lookups fail rather than serve keys that may have been retired.
    pg_relay.cut().await;
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let e = verifier
        .verify_bytes_for(&tenant, &token("during-pg"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unavailable { what, .. } if what.contains("PostgreSQL")),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(
        store.add_key(&tenant, &public("k2", B), "ops").await,
        Err(Error::Unavailable { .. })
    ));
    // The messages name the store and carry no key or token material.
    assert!(!e.to_string().contains("k1"), "{e}");
}

/// A token signed as Node's `jsonwebtoken` signs by default (`iat`, no
/// `jti`, no `exp`), under a maximum age: accepted once, refused as a
/// replay at a second instance (remembered in Redis by its signature), and
/// refused as too old once the age has passed.
#[tokio::test]
async fn an_iat_only_token_is_remembered_across_instances_until_too_old() {
    let Some((pg, redis)) = services() else {
        return;
    };
    let tenant = unique("iat-only");
    let store = Arc::new(postgres(&pg).await);
    store
        .add_key(&tenant, &public("k1", A), "ops")
        .await
        .unwrap();
    let prefix = unique("iat-only-fleet");
    let max_age = Duration::from_secs(2);
    let policy = ClaimsPolicy::new()
        .with_leeway(Duration::ZERO)
        .with_max_age(max_age);
    let (one, two) = two_instances(&pg, &redis, store.clone(), &prefix, policy).await;
    let iat = unix_now();
    let token = request_signer("k1", A)
        .without_iat()
        .sign_json(format!(r#"{{"amount":100,"iat":{iat}}}"#).as_bytes())
        .unwrap();
    one.verify_bytes_for(&tenant, &token).await.unwrap();
    assert!(matches!(
        two.verify_bytes_for(&tenant, &token).await,
        Err(Error::Replayed)
    ));
    let wait = UNIX_EPOCH + Duration::from_secs(iat + 3);
    tokio::time::sleep(wait.duration_since(SystemTime::now()).unwrap_or_default()).await;
    assert!(matches!(
        two.verify_bytes_for(&tenant, &token).await,
        Err(Error::Claim(ClaimError::TooOld))
    ));
}

/// A Redis of the test's own, run as a child process without persistence
/// (as scripts/services.sh runs the shared one), so that it can be
/// restarted without disturbing the other tests.
struct OwnRedis {
    port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    fn start_on(port: u16) -> OwnRedis {
        let mut child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is on PATH (scripts/services.sh installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return OwnRedis { port, child };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start on port {port}");
    }

    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        OwnRedis::start_on(port)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (no chance to save anything) and starts a new one on the
    /// same port: everything it held is gone.
    fn restart(mut self) -> OwnRedis {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        OwnRedis::start_on(self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Retries `attempt` while Redis is still coming back (the multiplexed
/// connection reconnects on the next command after a failure).
async fn once_reconnected<T, F: std::future::Future<Output = Result<T, Error>>>(
    mut attempt: impl FnMut() -> F,
) -> Result<T, Error> {
    for _ in 0..50 {
        match attempt().await {
            Err(Error::Unavailable { .. }) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => return other,
        }
    }
    attempt().await
}

/// The review's finding: a Redis restarted without persistence forgot every
/// nonce, and a token accepted before the restart was accepted again. Now
/// the store notices that its history marker is gone: what could have been
/// used before the restart is refused as unprovable (request tokens and
/// response nonces alike), and a freshly signed token is accepted.
#[tokio::test]
async fn a_redis_restart_without_persistence_refuses_what_it_forgot() {
    if services().is_none() {
        return;
    }
    let redis = OwnRedis::start();
    let store = Arc::new(nonce_store(&redis.url(), "restart:").await);
    let key = key(A);
    let verifier = RequestVerifier::new(Arc::new(KeyRegistry::new(public("k1", A))))
        .with_claims(
            ClaimsPolicy::new()
                .require_iat()
                .with_leeway(Duration::ZERO),
        )
        .with_replay_store(store.clone());
    let sign = |jti: &str| {
        request_signer("k1", A)
            .sign_json(
                format!(
                    r#"{{"jti":"{jti}","iat":{},"exp":{}}}"#,
                    unix_now(),
                    unix_now() + 60
                )
                .as_bytes(),
            )
            .unwrap()
    };
    let registry = Arc::new(KeyRegistry::new(
        VerificationKey::new("api", key.public_key().clone(), Algorithm::PS256).unwrap(),
    ));
    let responses =
        ResponseVerifier::new(registry).with_replay_store(store.clone(), Duration::from_secs(2));
    let response_signer = ResponseSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::PS256)
            .unwrap()
            .with_key_id("api"),
    ));

    let token = sign("before-restart");
    verifier.verify_bytes_async(&token).await.unwrap();
    let response = response_signer.sign_headers(200, b"{}").unwrap();
    responses
        .verify_headers_async(200, response.iter(), b"{}")
        .await
        .unwrap();
    assert_eq!(store.records_since().await.unwrap(), Some(UNIX_EPOCH));

    let redis = redis.restart();
    let e = once_reconnected(|| verifier.verify_bytes_async(&token))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BeforeReplayHistory), "{e:?}");
    let since = store.records_since().await.unwrap().unwrap();
    assert!(
        since > SystemTime::now() - Duration::from_secs(5),
        "{since:?}"
    );
    // A response nonce carries no age: any within one window of the loss
    // is refused, a replay or not.
    let e = responses
        .verify_headers_async(200, response.iter(), b"{}")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BeforeReplayHistory), "{e:?}");

    // The client signs again: `iat` (whole seconds) must reach the new
    // history's start, so wait for the next second.
    let wait = Duration::from_millis(
        1000 - u64::from(since.duration_since(UNIX_EPOCH).unwrap().subsec_millis()),
    );
    tokio::time::sleep(wait + Duration::from_millis(10)).await;
    let again = sign("after-restart");
    verifier.verify_bytes_async(&again).await.unwrap();
    assert!(matches!(
        verifier.verify_bytes_async(&again).await,
        Err(Error::Replayed)
    ));
    // Once a window has passed since the loss, responses verify again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fresh = response_signer.sign_headers(200, b"{}").unwrap();
    responses
        .verify_headers_async(200, fresh.iter(), b"{}")
        .await
        .unwrap();
    drop(redis);
}

/// `url` with its query replaced by `query`.
fn with_query(url: &str, query: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_query(Some(query));
    url.into()
}

/// Both servers speak TLS only (scripts/services.sh): the stores verify the
/// server against the CA they are given, refuse a server another CA
/// vouches for, and a plain-TCP client gets a clear refusal, never a hang.
#[tokio::test]
async fn tls_is_verified_and_plain_tcp_is_refused() {
    let Some((pg, redis)) = services() else {
        return;
    };
    let Ok(ca) = std::env::var(REDIS_CA) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {REDIS_CA} is not set, so the servers are not known to speak TLS"
        );
        return;
    };
    let wrong_ca = "tests/data/keys/rsa2048.cert.pem";
    let message = |e: Error| {
        assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
        e.to_string()
    };

    // PostgreSQL: the right CA works (every other test), a wrong one is a
    // failed handshake, plain TCP is refused by the server.
    let store = postgres(&pg).await;
    store.active_keys("nobody").await.unwrap();
    let wrong = PostgresKeyStore::connect(&with_query(
        &pg,
        &format!("sslmode=verify-full&sslrootcert={wrong_ca}"),
    ))
    .await
    .unwrap();
    let shown = message(wrong.active_keys("nobody").await.unwrap_err());
    assert!(shown.contains("certificate"), "{shown}");
    let plain = PostgresKeyStore::connect(&with_query(&pg, "sslmode=disable"))
        .await
        .unwrap();
    let shown = message(plain.active_keys("nobody").await.unwrap_err());
    assert!(shown.contains("no encryption"), "{shown}");
    // Settings that cannot work are the caller's to fix, before connecting.
    for query in [
        "sslmode=allow".to_owned(),
        "sslmode=verify-full&sslrootcert=/no/such/ca.pem".to_owned(),
        "sslmode=require&sslrootcert=Cargo.toml".to_owned(),
    ] {
        let e = PostgresKeyStore::connect(&with_query(&pg, &query))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{query}: {e:?}");
    }

    // Redis: the same.
    let timeout = Duration::from_secs(2);
    let e =
        RedisNonceStore::connect_with_ca_pem(&redis, &std::fs::read(wrong_ca).unwrap(), timeout)
            .await
            .unwrap_err();
    let shown = message(e);
    assert!(shown.contains("certificate"), "{shown}");
    let plain_url = redis.replacen("rediss://", "redis://", 1);
    message(
        RedisNonceStore::connect_with_timeout(&plain_url, timeout)
            .await
            .unwrap_err(),
    );
    let ca = std::fs::read(ca).unwrap();
    for (url, ca) in [(&plain_url, &ca[..]), (&redis, &b"not a certificate"[..])] {
        let e = RedisNonceStore::connect_with_ca_pem(url, ca, timeout)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{url}: {e:?}");
    }
    RedisNonceStore::connect_with_ca_pem(&redis, &ca, timeout)
        .await
        .unwrap();
}

/// A tenant rotates from an RSA key to EC and Ed25519 keys in the store:
/// each row records its kind, reads back as that kind, and the database
/// refuses an algorithm the kind does not allow and a change of kind.
#[tokio::test]
async fn the_store_keeps_keys_of_every_kind() {
    let Some((pg, _)) = services() else { return };
    let store = postgres(&pg).await;
    let t = unique("kinds");
    let of = |kid: &str, file: &str| {
        let key = key(file).public_key().clone();
        let alg = key.kind().default_algorithm();
        VerificationKey::new(kid, key, alg).unwrap()
    };
    store.add_key(&t, &public("rsa", A), "ops").await.unwrap();
    store
        .add_key(&t, &of("ec", "ec-p256.pem"), "ops")
        .await
        .unwrap();
    store.retire_key(&t, "rsa", "ops").await.unwrap();
    store
        .add_key(&t, &of("ed", "ed25519.pkcs8.pem"), "ops")
        .await
        .unwrap();
    let active = store.active_keys(&t).await.unwrap();
    let kinds: Vec<_> = active
        .iter()
        .map(|k| (k.kid(), k.public_key().unwrap().kind(), k.algorithm()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ec", KeyKind::EcP256, Algorithm::ES256),
            ("ed", KeyKind::Ed25519, Algorithm::EdDSA)
        ]
    );

    // As the schema's owner, past the crate: the rules hold in the database.
    let owner = psql(&owner_url(&pg)).await;
    let spki = key("ec-p256.pem").public_key().to_spki_der();
    let wrong_alg = owner
        .execute(
            "INSERT INTO signed_payloads_keys
                 (tenant, kid, algorithm, public_key, thumbprint, added_by, key_kind)
             VALUES ($1, 'x', 'RS256', $2, 'x', 'psql', 'EC P-256')",
            &[&t, &spki],
        )
        .await
        .unwrap_err();
    assert_eq!(
        wrong_alg.code().map(|c| c.code()),
        Some("23514"),
        "{wrong_alg}"
    );
    let no_kind = owner
        .execute(
            "INSERT INTO signed_payloads_keys
                 (tenant, kid, algorithm, public_key, thumbprint, added_by)
             VALUES ($1, 'y', 'ES256', $2, 'x', 'psql')",
            &[&t, &spki],
        )
        .await
        .unwrap_err();
    assert_eq!(no_kind.code().map(|c| c.code()), Some("23502"), "{no_kind}");
    let change = owner
        .execute(
            "UPDATE signed_payloads_keys SET key_kind = 'EC P-384' WHERE tenant = $1 AND kid = 'ec'",
            &[&t],
        )
        .await
        .unwrap_err();
    assert_eq!(change.code().map(|c| c.code()), Some("SPK03"), "{change}");
}

/// Schema version 3 on a database that holds version 2 rows: they become
/// RSA keys, which is what they are.
#[tokio::test]
async fn the_key_kind_migration_covers_existing_rows() {
    let Some((pg, _)) = services() else { return };
    let owner = psql(&owner_url(&pg)).await;
    let schema = unique("migration").replace('-', "_");
    owner
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};"
        ))
        .await
        .unwrap();
    owner
        .batch_execute(include_str!("../migrations/0001_key_store.sql"))
        .await
        .unwrap();
    owner
        .batch_execute(include_str!("../migrations/0002_guards.sql"))
        .await
        .unwrap();
    let spki = key(A).public_key().to_spki_der();
    owner
        .execute(
            "INSERT INTO signed_payloads_tenants (tenant) VALUES ('old')",
            &[],
        )
        .await
        .unwrap();
    owner
        .execute(
            "INSERT INTO signed_payloads_keys (tenant, kid, algorithm, public_key, thumbprint, added_by)
             VALUES ('old', 'k1', 'PS256', $1, 'x', 'v2')",
            &[&spki],
        )
        .await
        .unwrap();
    owner
        .batch_execute(include_str!("../migrations/0003_key_kinds.sql"))
        .await
        .unwrap();
    let kind: String = owner
        .query_one(
            "SELECT key_kind FROM signed_payloads_keys WHERE kid = 'k1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind, "RSA");
    owner
        .batch_execute(&format!("RESET search_path; DROP SCHEMA {schema} CASCADE;"))
        .await
        .unwrap();
}
